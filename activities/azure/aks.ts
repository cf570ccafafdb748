/**
 * AKS: confirm (and, when allowed, enable) the cluster's Windows gMSA profile the way `az aks update
 * --enable-windows-gmsa` does (GET, modify windowsProfile.gmsaProfile, PUT the whole cluster), check the named
 * Windows pools, and hand out the cluster's kubeconfig to the Kubernetes activities.
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import { ApplicationFailure } from '@temporalio/common';
import type { AzureClients } from './clients.js';
import { clusterLabel, clusterReader, FAILED, type ClusterCoordinates } from './cluster-state.js';
import {
  azureCall,
  azureFailure,
  codeOf,
  lroError,
  retryAfterMs,
  statusOf,
  type AzureFailureDetails,
} from './errors.js';
import { pollWithHeartbeat, type LroHeartbeat } from './poll.js';
import { activityContext } from '../keep-alive.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import type { ClusterRef, ConfirmAksGmsaInput, ConfirmAksGmsaResult } from '../../contract/activities.js';
import { SharedReads } from '../../domain/shared-reads.js';

const label = clusterLabel;

/** The az command that does what this step was not allowed to do. */
function enableCommand(c: ClusterCoordinates, fqdn: string, dnsServer?: string): string {
  const dns = dnsServer ? ` --gmsa-dns-server ${dnsServer} --gmsa-root-domain-name ${fqdn}` : '';
  return `az aks update --subscription ${c.subscriptionId} -g ${c.resourceGroup} -n ${c.name} --enable-windows-gmsa${dns}`;
}

/** The az command that brings a Failed cluster back: an update with no change reconciles it to its goal state. */
const repairCommand = (c: ClusterCoordinates) =>
  `az aks update --subscription ${c.subscriptionId} -g ${c.resourceGroup} -n ${c.name}`;

/** The two writes this step makes, by name: the key of each one's poller state in the heartbeat. */
const enableWhat = (c: ClusterCoordinates) => `enable Windows gMSA on ${label(c)}`;
const changeWhat = (c: ClusterCoordinates) => `change the Windows gMSA settings of ${label(c)}`;

/** AKS's code and text for a node drain an eviction could not pass (error-code-poddrainfailure, AKS troubleshooting). */
const DRAIN_BLOCKED = /PodDrainFailure|\bDrain node\b|disruption budget|debugdrainfailures/i;

/** The poller states an earlier attempt of this activity heartbeat, by operation (poll.ts `LroHeartbeat`). */
function savedOperations(): Record<string, string> {
  const details = activityContext()?.info.heartbeatDetails as Partial<LroHeartbeat> | undefined;
  return { ...(details?.operations ?? {}) };
}

function resultOf(cluster: ManagedCluster, enabledByThisRun: boolean): ConfirmAksGmsaResult {
  const kubelet = cluster.identityProfile?.kubeletidentity;
  return {
    clusterId: String(cluster.id),
    nodeResourceGroup: String(cluster.nodeResourceGroup),
    enabledByThisRun,
    kubeletIdentity:
      kubelet?.objectId && kubelet.clientId && kubelet.resourceId
        ? { objectId: kubelet.objectId, clientId: kubelet.clientId, resourceId: kubelet.resourceId }
        : undefined,
  };
}

export function createAksActivities(clients: AzureClients) {
  const { getCluster, settled: settledWith } = clusterReader(clients);

  async function checkWindowsPools(cluster: ClusterRef): Promise<void> {
    const pools = new Map<string, string | undefined>();
    await azureCall(`list node pools of ${label(cluster)}`, async () => {
      for await (const p of clients.aks(cluster.subscriptionId).agentPools.list(cluster.resourceGroup, cluster.name)) {
        pools.set(String(p.name).toLowerCase(), p.osType);
      }
    });
    const problems = cluster.windowsNodePools.flatMap((name) => {
      const os = pools.get(name.toLowerCase());
      if (!pools.has(name.toLowerCase())) return [`node pool '${name}' does not exist`];
      return os === 'Windows' ? [] : [`node pool '${name}' is ${os ?? 'of unknown OS'}, not Windows`];
    });
    if (problems.length) {
      const have = [...pools.entries()].map(([n, os]) => `${n} (${os})`).join(', ');
      throw fatal(ErrorType.PreconditionFailed, `${label(cluster)}: ${problems.join('; ')}. Its pools: ${have}.`);
    }
  }

  /**
   * The cluster once no operation runs on it: AKS takes one write at a time (a PUT meanwhile is refused with 409
   * OperationNotAllowed, "Troubleshoot OperationNotAllowed errors"), and only a settled cluster says whether its
   * profile is in force. Polls GET, heartbeating what it waits for; a cancellation ends the wait (nothing of ours
   * is in flight).
   */
  /** The cluster once settled, keeping in its heartbeat the poller states an earlier attempt saved. */
  const settled = (cluster: ClusterCoordinates, first: ManagedCluster) =>
    settledWith(cluster, first, savedOperations());

  /**
   * The PUT of `desired`, polled to its end and heartbeating its poller state, from which a later attempt resumes
   * it (`resumeEarlierWrite`): that one has already seen any earlier write through, so this one always sends.
   */
  const sendPut = async (cluster: ClusterCoordinates, what: string, desired: ManagedCluster, eTag?: string) =>
    pollWithHeartbeat(
      what,
      await clients
        .aks(cluster.subscriptionId)
        .managedClusters.beginCreateOrUpdate(cluster.resourceGroup, cluster.name, desired, {
          updateIntervalInMs: clients.pollIntervalMs,
          ...(eTag ? { ifMatch: eTag } : {}),
        }),
    );

  /**
   * The write an earlier attempt of this activity sent and heartbeat before it died: seen through to its end
   * before anything is decided, since the cluster stays busy with it. `enabled` says whether it was the write
   * that turned gMSA on. A Failed end that a retry may fix, or an operation Azure no longer knows, leaves the
   * decision to the cluster's fresh state.
   */
  async function resumeEarlierWrite(cluster: ClusterCoordinates, current: ManagedCluster) {
    const saved = savedOperations();
    for (const [what, enabled] of [
      [enableWhat(cluster), true],
      [changeWhat(cluster), false],
    ] as const) {
      if (!saved[what]) continue;
      try {
        await pollWithHeartbeat(
          what,
          await clients
            .aks(cluster.subscriptionId)
            .managedClusters.beginCreateOrUpdate(cluster.resourceGroup, cluster.name, current, {
              updateIntervalInMs: clients.pollIntervalMs,
              resumeFrom: saved[what],
            }),
        );
        return { enabled };
      } catch (e) {
        if (statusOf(e) === 404) return undefined;
        const f = writeFailure(e, what, cluster);
        if (f.type !== ErrorType.Transient) throw f;
        return undefined;
      }
    }
    return undefined;
  }

  /** A failed PUT or operation, classified; the causes AKS reports for gMSA writes say what to change. */
  function writeFailure(e: unknown, what: string, cluster: ClusterRef | ClusterCoordinates, hint?: string) {
    if (statusOf(e) === 412) {
      // Nothing was written: the next attempt reads the cluster again and builds its PUT on the new state.
      return transient(
        `${what}: the cluster changed since it was read (412 ${codeOf(e) ?? 'PreconditionFailed'}); reading it again`,
        undefined,
        e instanceof Error ? e : undefined,
      );
    }
    if (statusOf(e) === 409 && codeOf(e) === 'OperationNotAllowed') {
      // Another write got there between our read and our PUT: the next attempt waits for it, then decides.
      return transient(
        `${what}: another operation runs on the cluster (409 OperationNotAllowed: ${(e as Error).message}); the next attempt waits for it`,
        retryAfterMs(e),
        e instanceof Error ? e : undefined,
      );
    }
    const lro = lroError(e);
    if (lro && DRAIN_BLOCKED.test(`${lro.code ?? ''} ${lro.message ?? ''}`)) {
      // The same update drains the same nodes into the same budget: no retry passes until someone changes it.
      const pdb = /(\S+)\/\S+ blocked by pdb (\S+)/.exec(lro.message ?? '');
      const which = pdb ? `the PodDisruptionBudget ${pdb[1]}/${pdb[2]}` : 'a PodDisruptionBudget';
      return ApplicationFailure.create({
        type: ErrorType.PreconditionFailed,
        message:
          `${what}: the operation ended Failed: ${lro.code}: ${lro.message} — enabling gMSA reimages the cluster's ` +
          `Windows nodes, and AKS drains each node first; ${which} allows no disruption, so the Windows pool's drain ` +
          `is blocked (kubectl get pdb -A: ALLOWED DISRUPTIONS 0). Relax it or scale its workload out, then run this ` +
          `provisioning again (it re-sends the update) or repair the cluster yourself: ${repairCommand(cluster)}`,
        nonRetryable: true,
        details: [{ azureCode: lro.code } satisfies AzureFailureDetails],
        cause: e instanceof Error ? e : undefined,
      });
    }
    return azureFailure(e, what, hint);
  }

  async function confirmAksGmsa(input: ConfirmAksGmsaInput): Promise<ConfirmAksGmsaResult> {
    const { cluster, domainFqdn, dnsServer, enable } = input;
    let current = await getCluster(cluster);
    const resumed = enable ? await resumeEarlierWrite(cluster, current) : undefined;
    if (resumed) current = await getCluster(cluster);
    current = await settled(cluster, current);
    await checkWindowsPools(cluster);
    if (!current.windowsProfile) {
      throw fatal(
        ErrorType.PreconditionFailed,
        `${label(cluster)} has no Windows profile: add a Windows node pool first.`,
      );
    }
    const want = { enabled: true, dnsServer: dnsServer, rootDomainName: dnsServer ? domainFqdn : undefined };
    const have = current.windowsProfile.gmsaProfile;
    const same =
      have?.enabled === true &&
      (have.dnsServer ?? undefined) === want.dnsServer &&
      (have.rootDomainName ?? '').toLowerCase() === (want.rootDomainName ?? '').toLowerCase();
    // A failed update leaves its goal state in the profile: gMSA reads as set but is not in force on the nodes.
    const failed = FAILED.test(current.provisioningState ?? '');
    if (same && !failed) return resultOf(current, resumed?.enabled === true);
    if (!enable) {
      if (same) {
        throw fatal(
          ErrorType.PreconditionFailed,
          `${label(cluster)} is ${current.provisioningState}: its last operation failed, so the gMSA profile it shows is not in force, and this provisioning may not update the cluster (options.enableGmsaOnCluster is false). AKS brings a failed cluster back with an update that changes nothing; run: ${repairCommand(cluster)}`,
        );
      }
      const state = have?.enabled
        ? `gMSA is enabled with dnsServer=${have.dnsServer ?? '(none)'}, rootDomainName=${have.rootDomainName ?? '(none)'}`
        : 'gMSA is not enabled';
      throw fatal(
        ErrorType.PreconditionFailed,
        `${label(cluster)}: ${state} and this provisioning may not change it (options.enableGmsaOnCluster is false). Run: ${enableCommand(cluster, domainFqdn, dnsServer)}`,
      );
    }
    // Re-sending the goal to a Failed cluster is `az aks update` with no change: AKS reconciles it.
    const turnsOn = have?.enabled !== true || failed;
    const what = turnsOn ? enableWhat(cluster) : changeWhat(cluster);
    const desired: ManagedCluster = { ...current, windowsProfile: { ...current.windowsProfile, gmsaProfile: want } };
    let result: ManagedCluster;
    try {
      // The PUT carries the whole cluster as read: with If-Match on the etag read, a change another team made
      // since is refused (412) instead of overwritten ("Optimistic concurrency" in the AKS docs; eTag and
      // If-Match in the managedClusters spec). A cluster read without an etag is sent as before.
      result = await sendPut(cluster, what, desired, current.eTag);
    } catch (e) {
      // AKS refuses gMSA on a service-principal cluster; say how to convert it rather than how to retry.
      const needsIdentity = statusOf(e) === 400 && /managed identity/i.test(String((e as Error).message));
      throw writeFailure(
        e,
        what,
        cluster,
        needsIdentity
          ? `convert the cluster first: az aks update -g ${cluster.resourceGroup} -n ${cluster.name} --enable-managed-identity`
          : `or run it yourself: ${enableCommand(cluster, domainFqdn, dnsServer)}`,
      );
    }
    return resultOf(result, turnsOn);
  }

  return { confirmAksGmsa };
}

/** How long a cluster credential fetched from ARM is reused: a fleet's Kubernetes steps ask for it hundreds of times. */
export const KUBECONFIG_TTL_MS = 120_000;

/**
 * The kubeconfig of a cluster from ARM (listClusterUserCredentials / listClusterAdminCredentials), kept per cluster
 * and access for `ttlMs`, and asked once for callers that come at the same time (a POST of about 0.7 s on Azure,
 * and every call also built new Kubernetes clients). A failed fetch is not kept: the next call asks again. A
 * rotated credential is seen within `ttlMs`. For the Kubernetes activities' own use, not an activity: it holds
 * credentials, so it must never be registered with the worker or enter workflow history.
 */
export function createKubeconfigSource(clients: AzureClients, o: { ttlMs?: number } = {}) {
  const ttlMs = o.ttlMs ?? KUBECONFIG_TTL_MS;
  // Callers at once share one request; a failed one is not kept (SharedReads).
  const kept = new SharedReads<string, string>({ freshMs: ttlMs, maxAgeMs: ttlMs });

  async function fetchKubeconfig(cluster: ClusterCoordinates, access: 'user' | 'admin'): Promise<string> {
    const aks = clients.aks(cluster.subscriptionId).managedClusters;
    const result = await azureCall(`get ${access} credentials of ${label(cluster)}`, () =>
      access === 'admin'
        ? aks.listClusterAdminCredentials(cluster.resourceGroup, cluster.name)
        : aks.listClusterUserCredentials(cluster.resourceGroup, cluster.name),
    );
    const value = result.kubeconfigs?.[0]?.value;
    if (!value) throw azureFailure(new Error('no kubeconfig in the answer'), `get credentials of ${label(cluster)}`);
    return Buffer.from(value).toString('utf8');
  }

  function getKubeconfig(cluster: ClusterCoordinates, access: 'user' | 'admin' = 'user'): Promise<string> {
    const key = [cluster.subscriptionId, cluster.resourceGroup, cluster.name, access].join('/').toLowerCase();
    return kept.read(key, () => fetchKubeconfig(cluster, access));
  }

  return { getKubeconfig };
}
