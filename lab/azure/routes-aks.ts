/**
 * Microsoft.ContainerService/managedClusters: GET, PUT as a long-running operation (with the gMSA rules AKS
 * enforces, its optimistic concurrency, one operation at a time and the goal state a GET shows while it runs or
 * after it failed), agentPools list, GET and PUT (a new pool gets its scale set in the node resource group when its
 * operation ends, as AKS makes one) and the cluster credential listings.
 */
import { randomUUID } from 'node:crypto';
import { armError, json, notFound, type Reply } from './arm-http.js';
import { clone, rgPath, scopeError, type Ctx, type Route } from './context.js';
import { startOperation } from './lro.js';
import {
  agentPoolProfile,
  get,
  key,
  put,
  putPoolScaleSet,
  rgId,
  type Operation,
  type Resource,
  type World,
} from './world.js';

const NS = 'Microsoft.ContainerService';
const CLUSTER = rgPath(NS, 'managedClusters/([^/]+)');

interface ClusterProps {
  provisioningState: string;
  fqdn: string;
  nodeResourceGroup: string;
  agentPoolProfiles: Array<Record<string, unknown> & { name: string }>;
  windowsProfile?: { adminUsername?: string; adminPassword?: string; gmsaProfile?: Record<string, unknown> };
}

const props = (r: Resource) => r.properties as ClusterProps;

/** States of a cluster whose operation still runs: AKS refuses another write meanwhile. */
const RUNNING = /^(Creating|Updating|Upgrading|Deleting|Starting|Stopping|Scaling|Migrating|Canceling)$/i;

/**
 * Each cluster's latest PUT: the cluster as that PUT left it (its goal state) and the operation applying it. An
 * operation made to fail (`lroFailed`) puts the resource back as it was (lro.ts `failOperation`), which is ARM's
 * way for most resources but not AKS's: a failed managed-cluster update keeps its goal state and only turns
 * `Failed` (after a failed upgrade `kubernetesVersion` is the target, `currentKubernetesVersion` the old one), and an
 * update with no change is what reconciles it. So the goal is put back, `Failed`, the next time the cluster is read.
 */
const pending = new WeakMap<World, Map<string, { operation: Operation; cluster: Resource }>>();
function goals(world: World) {
  let m = pending.get(world);
  if (!m) pending.set(world, (m = new Map()));
  return m;
}

function keepFailedGoal(world: World, id: string) {
  const goal = goals(world).get(key(id));
  if (!goal || goal.operation.status === 'InProgress') return;
  goals(world).delete(key(id));
  if (goal.operation.status !== 'Failed') return;
  props(goal.cluster).provisioningState = 'Failed';
  goal.cluster.eTag = randomUUID();
  put(world, goal.cluster);
}

/**
 * AKS's error when a drain finds a pod it may not evict: a PodDisruptionBudget that allows no disruption (code
 * UpgradeFailed, text as in "Troubleshoot UpgradeFailed errors due to eviction failures caused by PDBs",
 * learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/error-code-poddrainfailure). AKS
 * drains a node before it replaces or reimages it; the operation, and the cluster, end `Failed`. For a fault rule:
 * `{ op: 'PUT managedClusters', kind: 'lroFailed', ...drainBlocked({ pool: 'win1', pod, pdb }) }`. A Windows
 * node's name is its pool's computer-name prefix (`aks<pool>`) and a six-digit instance number.
 */
export function drainBlocked(o: { pool: string; pod: string; pdb: string; namespace?: string }) {
  const node = `aks${o.pool}000000`;
  return {
    errorCode: 'UpgradeFailed',
    errorMessage: `Drain node ${node} failed when evicting pod ${o.pod} failed with Too Many Requests error. This is often caused by a restrictive Pod Disruption Budget (PDB) policy. See https://aka.ms/aks/debugdrainfailures. Original error: Cannot evict pod as it would violate the pod's disruption budget.. PDB debug info: ${o.namespace ?? 'default'}/${o.pod} blocked by pdb ${o.pdb} with 0 unready pods.`,
  };
}

const clusterId = (sub: string, rg: string, name: string) =>
  `/subscriptions/${sub}/resourceGroups/${rg}/providers/${NS}/managedClusters/${name}`;

function find(ctx: Ctx, m: RegExpExecArray) {
  const [, sub, rg, name] = m as unknown as [string, string, string, string];
  const err = scopeError(ctx, sub, rg);
  if (err) return { err };
  const id = clusterId(sub, rg, name);
  keepFailedGoal(ctx.world, id);
  const cluster = get(ctx.world, id);
  if (!cluster) return { err: notFound(`${NS}/managedClusters`, name, rg) };
  return { cluster, rg };
}

/** AKS's checks on a PUT that touches gMSA (what `az aks update --enable-windows-gmsa` runs into). */
function validate(body: Resource, existing: Resource) {
  const p = (body.properties ?? {}) as Partial<ClusterProps>;
  const gmsa = p.windowsProfile?.gmsaProfile as
    { enabled?: boolean; dnsServer?: string; rootDomainName?: string } | undefined;
  if (p.nodeResourceGroup && p.nodeResourceGroup !== props(existing).nodeResourceGroup) {
    return armError(400, 'PropertyChangeNotAllowed', "Changing property 'nodeResourceGroup' is not allowed.");
  }
  if (!gmsa) return undefined;
  if (!p.windowsProfile?.adminUsername) {
    return armError(400, 'InvalidParameter', 'Windows GMSA requires a Windows profile with adminUsername.');
  }
  if (Boolean(gmsa.dnsServer) !== Boolean(gmsa.rootDomainName)) {
    return armError(
      400,
      'InvalidParameter',
      'DnsServer and RootDomainName must be set together, or both left empty to use the custom DNS of the VNet.',
    );
  }
  if (gmsa.dnsServer && !/^(\d{1,3}\.){3}\d{1,3}$/.test(gmsa.dnsServer)) {
    return armError(400, 'InvalidParameter', `DnsServer '${gmsa.dnsServer}' is not a valid IPv4 address.`);
  }
  const identityType = String((body.identity as { type?: string } | undefined)?.type ?? 'None');
  if (gmsa.enabled && !/SystemAssigned|UserAssigned/i.test(identityType)) {
    return armError(400, 'BadRequest', 'Windows GMSA requires managed identity.');
  }
  return undefined;
}

const unquote = (v: string) =>
  v
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');

/**
 * `If-Match` and `If-None-Match` on a PUT of an existing cluster ("Enhance concurrency control with entity tags
 * (eTags) in Azure Kubernetes Service"; the headers of ManagedClusters_CreateOrUpdate in
 * containerservice/…/aks/stable/2025-10-01/managedClusters.json): If-Match must equal the cluster's eTag (or be `*`),
 * and `If-None-Match: *` means "only if it does not exist"; either failing is HTTP 412, code PreconditionFailed
 * (the status's name, as ARM writes it; the messages are the fake's own). Without them the write proceeds, last
 * writer wins.
 */
function checkPrecondition(ctx: Ctx, cluster: Resource): Reply | undefined {
  const header = (n: string) => {
    const v = ctx.req.headers[n];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const ifMatch = header('if-match');
  const ifNoneMatch = header('if-none-match');
  const etag = String(cluster.eTag ?? '');
  if (ifMatch !== undefined) {
    const wanted = ifMatch.split(',').map(unquote);
    if (!wanted.includes('*') && !wanted.includes(etag)) {
      return armError(
        412,
        'PreconditionFailed',
        `The eTag '${ifMatch}' in the If-Match header does not match the current eTag of managed cluster '${cluster.name}'. Get the cluster again and retry with its eTag.`,
      );
    }
  }
  if (
    ifNoneMatch !== undefined &&
    ifNoneMatch
      .split(',')
      .map(unquote)
      .some((v) => v === '*' || v === etag)
  ) {
    return armError(
      412,
      'PreconditionFailed',
      `Managed cluster '${cluster.name}' already exists, and the If-None-Match header asks for a new one.`,
    );
  }
  return undefined;
}

const AGENT_POOL = rgPath(NS, 'managedClusters/([^/]+)/agentPools/([^/]+)');

/** A pool of the cluster's agentPoolProfiles as the agentPools API returns it. */
function poolResource(cluster: Resource, pool: Record<string, unknown> & { name: string }) {
  const { name, ...rest } = pool;
  return {
    id: `${cluster.id}/agentPools/${name}`,
    name,
    type: 'Microsoft.ContainerService/managedClusters/agentPools',
    properties: rest,
  };
}

/** Pool names AKS takes: lowercase letters and digits, starting with a letter; a Windows pool's 6 at most. */
const POOL_NAME = /^[a-z][a-z0-9]{0,11}$/;

/**
 * AgentPools_CreateOrUpdate: a new pool is `Creating` until its operation ends, then it has a scale set in the node
 * resource group (`aks<pool>` for Windows, `aks-<pool>-<suffix>-vmss` for Linux) with the kubelet identity on it and
 * nothing else: an identity another product attached to the other pools is not there (what a repair must fix). A
 * PUT of an existing pool may change its count; its OS may not change. The error texts are the fake's own, modelled
 * on ARM's (no public record of AKS's exact wording was at hand).
 */
function putAgentPool(ctx: Ctx, m: RegExpExecArray): Reply {
  const f = find(ctx, m);
  if (f.err) return f.err;
  const cluster = f.cluster as Resource;
  const p = props(cluster);
  const name = String(m[4]);
  if (RUNNING.test(p.provisioningState)) {
    return armError(
      409,
      'OperationNotAllowed',
      `Operation is not allowed: Another operation (${p.provisioningState}) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details`,
    );
  }
  const body = ((ctx.req.body ?? {}) as { properties?: Record<string, unknown> }).properties ?? {};
  const osType = String(body.osType ?? 'Linux');
  if (!/^(Linux|Windows)$/.test(osType)) {
    return armError(400, 'InvalidParameter', `The value '${osType}' of parameter 'osType' is not valid.`);
  }
  const existing = p.agentPoolProfiles.find((x) => x.name === name);
  if (existing && existing.osType !== osType) {
    return armError(400, 'PropertyChangeNotAllowed', "Changing property 'osType' is not allowed.");
  }
  if (!POOL_NAME.test(name) || (osType === 'Windows' && name.length > 6)) {
    return armError(
      400,
      'InvalidParameter',
      `Agent pool name '${name}' is not valid: lowercase letters and digits, starting with a letter, at most ${osType === 'Windows' ? 6 : 12} characters${osType === 'Windows' ? ' for a Windows pool' : ''}.`,
    );
  }
  if (existing && RUNNING.test(String(existing.provisioningState))) {
    return armError(
      409,
      'OperationNotAllowed',
      `Operation is not allowed: Another operation (${String(existing.provisioningState)}) is in progress on agent pool '${name}', please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details`,
    );
  }
  const count = typeof body.count === 'number' ? body.count : 1;
  const pool =
    existing ??
    agentPoolProfile({
      name,
      osType,
      mode: String(body.mode ?? 'User'),
      ...(typeof body.osSKU === 'string' ? { osSku: body.osSKU } : {}),
      ...(typeof body.vmSize === 'string' ? { vmSize: body.vmSize } : {}),
      count,
    });
  pool.count = count;
  pool.provisioningState = existing ? 'Updating' : 'Creating';
  if (!existing) p.agentPoolProfiles.push(pool);
  const index = p.agentPoolProfiles.indexOf(pool);
  const { headers } = startOperation(
    ctx.world,
    ctx.knobs,
    ctx.req,
    'PUT agentPools',
    NS,
    String(cluster.location),
    () => {
      if (!existing) {
        const kubeletId = `${rgId(ctx.world.subscriptionId, p.nodeResourceGroup)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${cluster.name}-agentpool`;
        const kubelet = get(ctx.world, kubeletId)?.properties as { principalId: string; clientId: string } | undefined;
        putPoolScaleSet(
          ctx.world,
          cluster,
          { name, osType, mode: String(pool.mode), count },
          26512345 + index,
          undefined,
          kubelet && { resourceId: kubeletId, clientId: kubelet.clientId, objectId: kubelet.principalId },
        );
      }
      pool.provisioningState = 'Succeeded';
      pool.eTag = randomUUID();
      put(ctx.world, cluster);
    },
  );
  return json(existing ? 200 : 201, poolResource(cluster, pool), headers);
}

export const aksRoutes: Route[] = [
  {
    method: 'GET',
    pattern: CLUSTER,
    op: 'GET managedClusters',
    provider: NS,
    handle(ctx, m) {
      const f = find(ctx, m);
      return f.err ?? json(200, f.cluster);
    },
  },
  {
    method: 'PUT',
    pattern: CLUSTER,
    op: 'PUT managedClusters',
    provider: NS,
    handle(ctx, m) {
      const f = find(ctx, m);
      if (f.err) {
        if (f.err.status === 404 && scopeError(ctx, m[1] as string, m[2] as string) === undefined) {
          return armError(
            400,
            'NotSupported',
            'The lab creates clusters only through its admin endpoint (POST /_admin/clusters).',
          );
        }
        return f.err;
      }
      const cluster = f.cluster as Resource;
      const precondition = checkPrecondition(ctx, cluster);
      if (precondition) return precondition;
      // Only a running operation blocks a PUT; a cluster left Failed takes one (that is how it is reconciled).
      const state = props(cluster).provisioningState;
      if (RUNNING.test(state)) {
        // AKS's text ("Troubleshoot OperationNotAllowed errors", AKS troubleshooting; Azure/azure-workload-identity
        // #417 shows it verbatim).
        return armError(
          409,
          'OperationNotAllowed',
          `Operation is not allowed: Another operation (${state}) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details`,
        );
      }
      const body = (ctx.req.body ?? {}) as Resource;
      const invalid = validate(body, cluster);
      if (invalid) return invalid;
      const desired = clone((body.properties ?? {}) as Partial<ClusterProps>);
      // AKS keeps the goal state: GET shows the new spec at once, `Updating` while the nodes catch up.
      const p = props(cluster);
      if (desired.windowsProfile) {
        // AKS never returns the admin password; keep whatever else the caller sent.
        const { adminPassword: _secret, ...windowsProfile } = desired.windowsProfile;
        p.windowsProfile = windowsProfile;
      }
      if (body.tags) cluster.tags = clone(body.tags);
      p.provisioningState = 'Updating';
      const { headers, operation } = startOperation(
        ctx.world,
        ctx.knobs,
        ctx.req,
        'PUT managedClusters',
        NS,
        String(cluster.location),
        () => {
          // A cluster-level write changes the cluster's eTag and its agent pools' ("Enhance concurrency control
          // with entity tags (eTags) in Azure Kubernetes Service").
          cluster.eTag = randomUUID();
          for (const pool of p.agentPoolProfiles) pool.eTag = randomUUID();
          p.provisioningState = 'Succeeded';
          put(ctx.world, cluster);
        },
      );
      goals(ctx.world).set(key(cluster.id), { operation, cluster });
      return json(200, cluster, headers);
    },
  },
  {
    method: 'GET',
    pattern: rgPath(NS, 'managedClusters/([^/]+)/agentPools'),
    op: 'GET agentPools',
    provider: NS,
    handle(ctx, m) {
      const f = find(ctx, m);
      if (f.err) return f.err;
      const cluster = f.cluster as Resource;
      const value = props(cluster).agentPoolProfiles.map(({ name, ...rest }) => ({
        id: `${cluster.id}/agentPools/${name}`,
        name,
        type: 'Microsoft.ContainerService/managedClusters/agentPools',
        properties: rest,
      }));
      return json(200, { value });
    },
  },
  {
    method: 'GET',
    pattern: AGENT_POOL,
    op: 'GET agentPools/{name}',
    provider: NS,
    handle(ctx, m) {
      const f = find(ctx, m);
      if (f.err) return f.err;
      const cluster = f.cluster as Resource;
      const pool = props(cluster).agentPoolProfiles.find((p) => p.name.toLowerCase() === String(m[4]).toLowerCase());
      return pool
        ? json(200, poolResource(cluster, pool))
        : notFound(`${NS}/managedClusters/agentPools`, String(m[4]), f.rg!);
    },
  },
  {
    method: 'PUT',
    pattern: AGENT_POOL,
    op: 'PUT agentPools',
    provider: NS,
    handle: putAgentPool,
  },
  ...(['User', 'Admin'] as const).map((who): Route => ({
    method: 'POST',
    pattern: rgPath(NS, `managedClusters/([^/]+)/listCluster${who}Credential`),
    op: `POST listCluster${who}Credential`,
    provider: NS,
    handle(ctx, m) {
      const f = find(ctx, m);
      if (f.err) return f.err;
      const cluster = f.cluster as Resource;
      const yaml = ctx.kubeconfig({ name: cluster.name, fqdn: props(cluster).fqdn }, who === 'Admin');
      return json(200, {
        kubeconfigs: [{ name: `cluster${who}`, value: Buffer.from(yaml, 'utf8').toString('base64') }],
      });
    },
  })),
];
