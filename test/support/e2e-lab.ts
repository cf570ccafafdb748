/**
 * The whole product against the whole lab, for the e2e suites: the API with encrypted payloads on a task queue of
 * its own, and the worker with the real activities, either in this process or as the worker process itself
 * (worker/main.ts), which a test may kill mid-step. Clients of every outside system are at hand for checking what
 * a run did, in each system, never by what the run says. A missing lab part fails the suite, naming it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import assert from 'node:assert/strict';
import { CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { EqualityFilter } from 'ldapts';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { OperationsService } from '../../api/operations-service.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import type { OperationView, ProvisioningView } from '../../api/schemas.js';
import type { OperationKind } from '../../contract/operations.js';
import { connectAzure } from '../../activities/azure/connect.js';
import type { AzureClients } from '../../activities/azure/clients.js';
import type { ClusterRef, GmsaActivities } from '../../contract/activities.js';
import { createLogger } from '../../config/logger.js';
import { clusterRoleName, roleBindingName } from '../../domain/credential-spec.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { PROJECT_ROOT } from '../../lab/paths.js';
import { sambaPaths } from '../../lab/samba/settings.js';
import { dataConverter, KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings, type TemporalSettings } from '../../temporal/settings.js';
import { createRealActivities } from '../../worker/activities.js';
import { readAzureConfig } from '../../worker/config/azure.js';
import { createWorker } from '../../worker/create-worker.js';
import { adLabFromEnv, baseDn, connect, deleteBySam, type AdLab } from './ad-lab.js';
import { windowsScaleSetIdentities } from './azure-lab.js';
import { pollUntil } from './poll.js';
import { devServerEnv, requireEnv, uniqueQueue, workflowBundle } from './temporal.js';

export const TOKENS = {
  operator: 'e2e-operator-token-000000',
  viewer: 'e2e-viewer-token-0000000',
  approver: 'e2e-approver-token-00000',
};
export type Role = keyof typeof TOKENS;
export type View = ProvisioningView;
type InjectResponse = Awaited<ReturnType<Awaited<ReturnType<typeof buildApp>>['inject']>>;

/** A short tag unique to this run (6 base-36 characters): names within AD's and Azure's limits. */
export const runTag = () => randomBytes(4).readUInt32BE(0).toString(36).padStart(6, '0').slice(-6);

/**
 * The README's lab request on `cluster` (default: its own, the seeded `aks-gmsa-lab`), every name derived from `tag` (the lab outlives a run: fixed names would
 * find an earlier run's objects and prove nothing). `site` tells apart the bindings of one gMSA: vault, identity and
 * spec are per site, the gMSA and its user are the tag's.
 */
export function labRequest(cluster: ClusterRef | undefined, tag: string, site = 'a'): ProvisionRequest {
  const request = JSON.parse(readFileSync(`${PROJECT_ROOT}/examples/lab-request.json`, 'utf8')) as ProvisionRequest;
  const { subscriptionId, resourceGroup, name, windowsNodePools } = cluster ?? request.cluster;
  request.cluster = { subscriptionId, resourceGroup, name, windowsNodePools };
  request.gmsa = { name: `sw${tag}`, standardUser: `gmsa-sw-${tag}`, credentialSpecName: `sw-${tag}-${site}` };
  request.azure.keyVault = { name: `kv-sw-${tag}-${site}`, secretName: `gmsa-sw-${tag}` };
  request.azure.managedIdentity = { name: `mi-sw-${tag}-${site}` };
  request.options.adopt = [];
  return request;
}

/** The worker process (worker/main.ts) on the lab's task queue: `kill` is SIGKILL, a crash with no goodbye. */
export interface WorkerProcess {
  pid: number;
  /** Its log lines so far (pino JSON), for a failure message. */
  lines: string[];
  kill(): Promise<void>;
}

export interface E2eLab {
  settings: TemporalSettings;
  client: Client;
  app: Awaited<ReturnType<typeof buildApp>>;
  activities: GmsaActivities;
  azure: AzureClients;
  ad: AdLab;
  kube: KubeConfig;
  call(method: 'GET' | 'POST', url: string, role: Role, payload?: object): Promise<InjectResponse>;
  /** POSTs the request; returns the provisioning id (202 asserted). */
  start(request: ProvisionRequest): Promise<string>;
  view(id: string): Promise<View>;
  /** Polls until the run has ended (approving when asked), within `timeoutMs`. */
  waitForEnd(id: string, timeoutMs?: number): Promise<View>;
  provision(request: ProvisionRequest, timeoutMs?: number): Promise<View>;
  cancel(id: string): Promise<void>;
  /**
   * Runs a day-2 operation through its route (`POST /v1/provisionings/{id}/{kind}`, 202 asserted) and polls
   * `GET /v1/operations/{operationId}` until it has ended, within `timeoutMs`; returns its last view.
   */
  operate(id: string, kind: OperationKind, body?: object, timeoutMs?: number): Promise<OperationView>;
  /**
   * Starts worker/main.ts on this lab's queue, with `env` on top (GMSA_WORKER_METRICS_ADDRESS…), and resolves once
   * it polls.
   */
  workerProcess(env?: NodeJS.ProcessEnv): Promise<WorkerProcess>;
  close(): Promise<void>;
}

export interface E2eLabOptions {
  prefix: string;
  /** `in-process` (default): a worker in this process; `none`: the test starts worker processes itself. */
  worker?: 'in-process' | 'none';
  /** Where worker and API log at info (default: the worker's warnings on stdout, the API silent). */
  logTo?: Writable;
  /** Every API answer's body is pushed here, for a suite that searches them. */
  answers?: string[];
}

export async function startE2eLab(o: E2eLabOptions): Promise<E2eLab> {
  for (const v of ['AD_URL', 'AZURE_ARM_ENDPOINT', 'KUBECONFIG']) requireEnv(v, 'the e2e tests need the whole lab');
  const env: TestWorkflowEnvironment = await devServerEnv();
  const ringEntry = KeyRing.generateEntry(`${o.prefix}-1`);
  const ring = KeyRing.parse(ringEntry, 'test');
  const settings = {
    ...readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS }),
    taskQueue: uniqueQueue(o.prefix),
  };
  // Without a stream of the suite's, only the worker's problems, on stdout (the test runner shows them).
  const activities = await createRealActivities(
    process.env,
    createLogger(o.logTo ? 'info' : 'warn', 'worker', o.logTo),
  );
  const azure = connectAzure(readAzureConfig(process.env)!).clients;
  const ad = adLabFromEnv();
  const kube = new KubeConfig();
  kube.loadFromFile(requireEnv('KUBECONFIG', 'the lab cluster'));

  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  if ((o.worker ?? 'in-process') === 'in-process') {
    worker = await createWorker({
      connection: env.nativeConnection,
      settings,
      activities,
      keyRing: ring,
      workflowBundle: await workflowBundle(),
    });
    running = worker.run();
  }
  const converter = dataConverter(ring);
  const client = new Client({ connection: env.connection, dataConverter: converter });
  const app = await buildApp({
    service: new ProvisioningService(client, settings),
    operations: new OperationsService(client, settings),
    tokens: TokenTable.parse(`operator:${TOKENS.operator},viewer:${TOKENS.viewer},approver:${TOKENS.approver}`),
    codec: converter.payloadCodecs[0],
    codecCorsOrigins: ['http://127.0.0.1:8233'],
    logger: createLogger(o.logTo ? 'info' : 'silent', 'api', o.logTo),
  });
  const children = new Set<ChildProcess>();

  const lab: E2eLab = {
    settings,
    client,
    app,
    activities,
    azure,
    ad,
    kube,
    async call(method, url, role, payload) {
      const res = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKENS[role]}` }, payload });
      o.answers?.push(res.body);
      return res;
    },
    async start(request) {
      const res = await lab.call('POST', '/v1/provisionings', 'operator', request);
      assert.equal(res.statusCode, 202, res.body);
      return (res.json() as { id: string }).id;
    },
    async view(id) {
      const res = await lab.call('GET', `/v1/provisionings/${id}`, 'viewer');
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as View;
    },
    waitForEnd(id, timeoutMs = 240_000) {
      let view: View | undefined;
      return pollUntil(
        `provisioning ${id} to end`,
        async () => {
          view = await lab.view(id);
          if (view.status !== 'RUNNING') return view;
          // The lab key is backdated, so normally nothing waits; approve when asked all the same.
          if (view.steps.find((s) => s.name === 'awaitAdApproval')?.status === 'waiting') {
            await lab.call('POST', `/v1/provisionings/${id}/approve`, 'approver', {});
          }
          return undefined;
        },
        { timeoutMs, intervalMs: 500, last: () => `${view?.status}: ${view?.phase}` },
      );
    },
    async provision(request, timeoutMs) {
      return lab.waitForEnd(await lab.start(request), timeoutMs);
    },
    async cancel(id) {
      const res = await lab.call('POST', `/v1/provisionings/${id}/cancel`, 'operator', {});
      assert.equal(res.statusCode, 202, res.body);
    },
    async operate(id, kind, body = {}, timeoutMs = 240_000) {
      const res = await lab.call('POST', `/v1/provisionings/${id}/${kind}`, 'operator', body);
      assert.equal(res.statusCode, 202, res.body);
      const operationId = (res.json() as { operationId: string }).operationId;
      let view: OperationView | undefined;
      return pollUntil(
        `operation ${operationId} to end`,
        async () => {
          const got = await lab.call('GET', `/v1/operations/${operationId}`, 'viewer');
          assert.equal(got.statusCode, 200, got.body);
          view = got.json() as OperationView;
          return view.status !== 'RUNNING' && view;
        },
        { timeoutMs, intervalMs: 500, last: () => `${view?.status}: ${view?.phase}` },
      );
    },
    async workerProcess(extraEnv = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          GMSA_TASK_QUEUE: settings.taskQueue,
          GMSA_CODEC_KEYS: ringEntry,
          GMSA_CODEC_KEYS_FILE: '',
          LOG_LEVEL: 'info',
          ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      const lines: string[] = [];
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      let ready = false;
      for (const stream of [child.stdout, child.stderr]) {
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          for (const line of chunk.split('\n').filter(Boolean)) {
            lines.push(line);
            if (line.includes('"worker started"')) ready = true;
          }
        });
      }
      let gone = false;
      void exited.then(() => (gone = true));
      // Bundling the workflows at start takes seconds on a busy machine.
      await pollUntil('the worker process to start polling', () => ready || (gone ? 'exited' : undefined), {
        timeoutMs: 120_000,
        intervalMs: 100,
        last: () => lines.slice(-5).join('\n'),
      });
      assert.ok(!gone, `the worker process exited at start:\n${lines.slice(-20).join('\n')}`);
      return {
        pid: child.pid!,
        lines,
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
          children.delete(child);
        },
      };
    },
    async close() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      worker?.shutdown();
      await running;
      await app.close();
      await env.teardown();
    },
  };
  return lab;
}

// ---- what a run left in each system, and removing it -----------------------------------------------------------

const missing = (e: unknown) =>
  (e as { statusCode?: number; code?: number }).statusCode === 404 || (e as { code?: number }).code === 404;
/** True when `read` finds the object, false on a 404; any other error is the test's. */
const exists = (read: () => Promise<unknown>) =>
  read().then(
    () => true,
    (e: unknown) => {
      if (missing(e)) return false;
      throw e;
    },
  );

export const identityIdOf = (r: ProvisionRequest) =>
  `/subscriptions/${r.cluster.subscriptionId}/resourceGroups/${r.azure.resourceGroup ?? r.cluster.resourceGroup}` +
  `/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${r.azure.managedIdentity.name}`;

/** The accounts of this sAMAccountName, by DN (the lab DC, as its admin). */
export async function accountsNamed(ad: AdLab, sam: string): Promise<string[]> {
  const s = await connect(ad);
  try {
    return (await s.search(baseDn(ad), new EqualityFilter({ attribute: 'sAMAccountName', value: sam }), ['cn'])).map(
      (e) => e.dn,
    );
  } finally {
    await s.close();
  }
}

/**
 * Every object of the request's names that exists, each read in its own system: identity, vault (live or
 * soft-deleted), secret, user, gMSA, credential spec, its ClusterRole and RoleBinding, and the identity on a Windows
 * scale set of the cluster. Empty when nothing of the run is left.
 */
export async function leftovers(lab: E2eLab, r: ProvisionRequest, nodeResourceGroup: string): Promise<string[]> {
  const found: string[] = [];
  const sub = r.cluster.subscriptionId;
  const rg = r.azure.resourceGroup ?? r.cluster.resourceGroup;
  const { keyVault: kv, managedIdentity: mi, location } = r.azure;
  if (await exists(() => lab.azure.msi(sub).userAssignedIdentities.get(rg, mi.name))) found.push(`identity ${mi.name}`);
  const vault = await lab.azure
    .keyVault(sub)
    .vaults.get(rg, kv.name)
    .catch((e: unknown) => {
      if (missing(e)) return undefined;
      throw e;
    });
  if (vault) {
    found.push(`vault ${kv.name}`);
    if (await exists(() => lab.azure.secrets(vault.properties.vaultUri!).getSecret(kv.secretName)))
      found.push(`secret ${kv.secretName}`);
  }
  if (await exists(() => lab.azure.keyVault(sub).vaults.getDeleted(kv.name, location)))
    found.push(`soft-deleted vault ${kv.name} (not purged: its name stays taken)`);
  for (const sam of [r.gmsa.standardUser, `${r.gmsa.name}$`])
    for (const dn of await accountsNamed(lab.ad, sam)) found.push(`AD account ${dn}`);
  const spec = r.gmsa.credentialSpecName;
  const { namespace, serviceAccount } = r.options.rbac;
  const custom = lab.kube.makeApiClient(CustomObjectsApi);
  const rbac = lab.kube.makeApiClient(RbacAuthorizationV1Api);
  if (await exists(() => custom.getClusterCustomObject({ ...CREDSPEC, name: spec })))
    found.push(`credential spec ${spec}`);
  if (await exists(() => rbac.readClusterRole({ name: clusterRoleName(spec) })))
    found.push(`ClusterRole ${clusterRoleName(spec)}`);
  const binding = roleBindingName(spec, serviceAccount);
  if (await exists(() => rbac.readNamespacedRoleBinding({ name: binding, namespace })))
    found.push(`RoleBinding ${namespace}/${binding}`);
  const identityId = identityIdOf(r).toLowerCase();
  for (const [vmss, ids] of await windowsScaleSetIdentities({ subscriptionId: sub, nodeResourceGroup }, lab.azure))
    if (ids.includes(identityId)) found.push(`identity ${mi.name} on scale set ${vmss}`);
  return found;
}

const CREDSPEC = { group: 'windows.k8s.io', version: 'v1', plural: 'gmsacredentialspecs' };

/**
 * Removes what `binding` holds of the request's objects with the product's own removals (by ownership: a shared
 * object is released, one it created and nobody else uses is deleted), newest first. Returns what failed.
 */
export async function removeBinding(
  lab: E2eLab,
  r: ProvisionRequest,
  binding: string,
  nodeResourceGroup: string,
): Promise<string[]> {
  const owner = { binding, adopt: [] };
  const a = lab.activities;
  const { cluster, domain, gmsa, azure: az, options } = r;
  const ref = { subscriptionId: cluster.subscriptionId, resourceGroup: az.resourceGroup ?? cluster.resourceGroup };
  const failures: string[] = [];
  const attempt = (what: string, fn: () => Promise<unknown>) =>
    fn().then(
      () => undefined,
      (e: unknown) => void failures.push(`${what}: ${(e as Error).message}`),
    );
  await attempt('credential spec', () =>
    a.removeCredentialSpec({ cluster, specName: gmsa.credentialSpecName, rbac: options.rbac, owner }),
  );
  await attempt('gMSA', () => a.removeGmsa({ domainFqdn: domain.fqdn, name: gmsa.name, owner }));
  await attempt('domain user', () => a.removeDomainUser({ domainFqdn: domain.fqdn, user: gmsa.standardUser, owner }));
  const identity = await lab.azure
    .msi(ref.subscriptionId)
    .userAssignedIdentities.get(ref.resourceGroup, az.managedIdentity.name)
    .catch(() => undefined);
  const vault = await lab.azure
    .keyVault(ref.subscriptionId)
    .vaults.get(ref.resourceGroup, az.keyVault.name)
    .catch(() => undefined);
  if (identity?.principalId && vault) {
    const principalId = identity.principalId;
    await attempt('read access', () =>
      a.revokeKeyVaultAccess({
        vault: { ...ref, name: az.keyVault.name },
        principalId,
        secretName: az.keyVault.secretName,
        owner,
      }),
    );
  }
  if (identity?.id) {
    const identityId = identity.id;
    await attempt('identity on the scale sets', () =>
      a.removeScaleSetIdentity({ cluster, nodeResourceGroup, identityId, owner }),
    );
  }
  if (vault?.properties.vaultUri) {
    const vaultUri = vault.properties.vaultUri;
    await attempt('secret', () => a.deleteUserSecret({ vaultUri, secretName: az.keyVault.secretName, owner }));
  }
  await attempt('vault', () =>
    a.deleteKeyVault({ ...ref, name: az.keyVault.name, location: az.location, purge: true, owner }),
  );
  await attempt('identity', () =>
    a.deleteManagedIdentity({
      ...ref,
      name: az.managedIdentity.name,
      detachFrom: { subscriptionId: ref.subscriptionId, nodeResourceGroup },
      owner,
    }),
  );
  return failures;
}

/**
 * The last resort after `removeBinding`, whatever the markers say: the names are this run's own, and the lab's DC
 * and API server outlive the run and are shared with other suites, so nothing of it may stay there.
 */
export async function removeByName(lab: E2eLab, r: ProvisionRequest): Promise<void> {
  for (const sam of [r.gmsa.standardUser, `${r.gmsa.name}$`]) await deleteBySam(lab.ad, sam);
  const spec = r.gmsa.credentialSpecName;
  const { namespace, serviceAccount } = r.options.rbac;
  const custom = lab.kube.makeApiClient(CustomObjectsApi);
  const rbac = lab.kube.makeApiClient(RbacAuthorizationV1Api);
  const gone = (e: unknown) => {
    if (!missing(e)) throw e;
  };
  await custom.deleteClusterCustomObject({ ...CREDSPEC, name: spec }).catch(gone);
  await rbac.deleteClusterRole({ name: clusterRoleName(spec) }).catch(gone);
  await rbac.deleteNamespacedRoleBinding({ name: roleBindingName(spec, serviceAccount), namespace }).catch(gone);
}

/** Runs samba-tool against the lab DC's own database, as an administrator of the domain does by hand. */
export function sambaTool(args: string[]): string {
  const p = sambaPaths();
  return execFileSync('samba-tool', [...args, '-H', p.samLdb, '-s', p.conf], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
