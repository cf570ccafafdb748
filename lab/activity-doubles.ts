/**
 * Activity doubles for workflow-logic tests and the engine benchmark: zero-latency, deterministic results in the
 * shape of the real ones, each call recorded with its start and end time so tests can prove overlap and order.
 *
 * Every result is derived from the activity's own input (the request's cluster, vault, user, gMSA and spec names),
 * so a test that asserts an output against the request proves the workflow carried that request's values through:
 * a double that answered with one fixed name would let a workflow that mixed up two requests pass.
 */
import { createHash } from 'node:crypto';
import type { GmsaActivities } from '../contract/activities.js';
import { createQueueActivity } from '../activities/coordination.js';
import { keepAlive } from '../activities/keep-alive.js';
import { scaleSetCoordinatorId } from '../contract/coordination.js';
import { clusterRoleName, roleBindingName } from '../domain/credential-spec.js';
import { DAY_TWO_DOUBLES } from './doubles/day-two.js';

type Name = keyof GmsaActivities;
type Input<N extends Name> = Parameters<GmsaActivities[N]>[0];
type Output<N extends Name> = Awaited<ReturnType<GmsaActivities[N]>>;

export interface CallRecord {
  name: Name;
  input: unknown;
  /** What the double returned; undefined when it threw. */
  output?: unknown;
  startedAt: number;
  endedAt: number;
}

/** A stable GUID-shaped id for `text`, so a principal id or object id follows the name it belongs to. */
export const guidOf = (text: string) => {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
/** A stable relative id (RID) for `text`, above the well-known range. */
const ridOf = (text: string) => 1100 + (createHash('sha256').update(text).digest().readUInt32BE(0) % 1_000_000);

export const DOUBLE_DOMAIN_SID = 'S-1-5-21-1111111111-2222222222-3333333333';
const baseDn = (fqdn: string) => `DC=${fqdn.split('.').join(',DC=')}`;
const clusterId = (c: Input<'confirmAksGmsa'>['cluster']) =>
  `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${c.name}`;
/** AKS names a cluster's node resource group MC_<group>_<cluster>_<location>; the double's clusters are in westeurope. */
const nodeResourceGroup = (c: Input<'confirmAksGmsa'>['cluster']) => `MC_${c.resourceGroup}_${c.name}_westeurope`;
/** One Windows scale set per node pool, named as AKS names them (aks-<pool>-<hash>-vmss). */
const scaleSets = (c: Input<'confirmAksGmsa'>['cluster']) => c.windowsNodePools.map((p) => `aks-${p}-12345678-vmss`);

export const DOUBLE_KDS_KEY = { keyId: 'kds-key-1', usableAt: '2000-01-01T00:00:00.000Z', created: false };

/** What each double returns for an input: the real activity's result shape, with the input's own names in it. */
export const DOUBLE_RESULTS: { [N in Name]: (input: Input<N>) => Output<N> } = {
  ...DAY_TWO_DOUBLES,
  confirmAksGmsa: (i) => ({
    clusterId: clusterId(i.cluster),
    nodeResourceGroup: nodeResourceGroup(i.cluster),
    enabledByThisRun: i.enable,
    kubeletIdentity: {
      objectId: guidOf(`kubelet-object:${clusterId(i.cluster)}`),
      clientId: guidOf(`kubelet-client:${clusterId(i.cluster)}`),
      resourceId: `/subscriptions/${i.cluster.subscriptionId}/resourceGroups/${nodeResourceGroup(i.cluster)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${i.cluster.name}-agentpool`,
    },
  }),
  ensureManagedIdentity: (i) => {
    const id = `/subscriptions/${i.subscriptionId}/resourceGroups/${i.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${i.name}`;
    return { id, principalId: guidOf(`principal:${id}`), clientId: guidOf(`client:${id}`), created: true };
  },
  ensureKeyVault: (i) => ({
    id: `/subscriptions/${i.subscriptionId}/resourceGroups/${i.resourceGroup}/providers/Microsoft.KeyVault/vaults/${i.name}`,
    vaultUri: `https://${i.name}.vault.azure.net/`,
    created: true,
  }),
  storeUserSecret: (i) => ({ secretUri: `${i.vaultUri.replace(/\/+$/, '')}/secrets/${i.secretName}`, created: true }),
  getDomainFacts: (i) => ({
    dnsName: i.domainFqdn,
    netbiosName: i.domainFqdn.split('.')[0]!.toUpperCase().slice(0, 15),
    forestRoot: i.domainFqdn,
    domainGuid: guidOf(`domain:${i.domainFqdn}`),
    domainSid: DOUBLE_DOMAIN_SID,
  }),
  ensureKdsRootKey: () => ({ ...DOUBLE_KDS_KEY }),
  findDomainUser: () => ({}),
  ensureDomainUser: (i) => ({
    dn: `CN=${i.user},${i.container ?? 'CN=Users'},${baseDn(i.domainFqdn)}`,
    sid: `${DOUBLE_DOMAIN_SID}-${ridOf(`user:${i.user}`)}`,
    created: true,
    passwordReset: false,
  }),
  ensureGmsa: (i) => ({
    dn: `CN=${i.name},CN=Managed Service Accounts,${baseDn(i.domainFqdn)}`,
    sid: `${DOUBLE_DOMAIN_SID}-${ridOf(`gmsa:${i.name}`)}`,
    created: true,
    membershipChanged: false,
  }),
  grantKeyVaultAccess: (i) => ({
    principalId: i.hostIdentity === 'managedIdentity' ? i.managedIdentity!.principalId : i.kubeletIdentity!.objectId,
    scaleSetsUpdated: i.hostIdentity === 'managedIdentity' ? scaleSets(i.cluster) : [],
    access: i.accessMode === 'rbac' ? 'roleAssignment' : 'accessPolicy',
  }),
  ensureCredentialSpec: (i) => ({
    name: i.specName,
    resourceVersion: '1',
    clusterRole: clusterRoleName(i.specName),
    roleBinding: { namespace: i.rbac.namespace, name: roleBindingName(i.specName, i.rbac.serviceAccount) },
    changed: true,
  }),
  verifyChain: (i) => ({
    checks: [
      { link: 'Key Vault secret', ok: true, detail: i.secretUri },
      { link: 'RBAC', ok: true, detail: `${i.rbac.namespace}/${i.rbac.serviceAccount} may use ${i.specName}` },
    ],
  }),
  removeCredentialSpec: (i) => ({
    removed: [
      `GMSACredentialSpec/${i.specName}`,
      `ClusterRole/${clusterRoleName(i.specName)}`,
      `RoleBinding/${i.rbac.namespace}/${roleBindingName(i.specName, i.rbac.serviceAccount)}`,
    ],
    kept: [],
  }),
  removeGmsa: (i) => ({ dn: `CN=${i.name},CN=Managed Service Accounts,${baseDn(i.domainFqdn)}`, removed: true }),
  removeDomainUser: (i) => ({ dn: `CN=${i.user},${i.container ?? 'CN=Users'},${baseDn(i.domainFqdn)}`, removed: true }),
  removeScaleSetIdentity: (i) => ({ scaleSetsUpdated: scaleSets(i.cluster) }),
  deleteKeyVault: (i) => ({ deleted: true, purged: i.purge === true }),
  deleteManagedIdentity: () => ({ deleted: true }),
  deleteUserSecret: (i) => ({ dn: `${i.vaultUri.replace(/\/+$/, '')}/secrets/${i.secretName}`, removed: true }),
  revokeKeyVaultAccess: (i) => ({ revoked: [`${i.principalId} on ${i.vault.name}`] }),
  queueScaleSetChange: (i) => ({ coordinator: scaleSetCoordinatorId(i.target, 'doubles') }),
  applyScaleSetChanges: (i) => ({
    scaleSet: `aks-${i.target.pool}-12345678-vmss`,
    patches: 1,
    outcomes: i.changes.map((c) => ({
      requestId: c.requestId,
      scaleSet: `aks-${i.target.pool}-12345678-vmss`,
      ok: true,
      changed: true,
    })),
  }),
  // The double accepts what is shaped like the API's proof: the real check (an HMAC) is tested on its own.
  verifyApproval: (i) =>
    i.approval.proof.length > 0 ? { valid: true } : { valid: false, reason: 'the approval carries no proof' },
};

/** The double's own answer for `name` on `input`: what an override returns when it only adds a wait or a count. */
export function doubleResult<N extends Name>(name: N, input: Input<N>): Output<N> {
  return (DOUBLE_RESULTS[name] as (i: Input<N>) => Output<N>)(input);
}

export type Overrides = Partial<{ [N in Name]: (input: Input<N>) => Promise<unknown> }>;

/**
 * A full activity set; `overrides` replace single steps (slow ones, failing ones). Queueing at a scale set's
 * coordinator is the real activity (it only signals, on the test's own server), so the coordinator workflow runs.
 */
export function activityDoubles(overrides: Overrides = {}): { activities: GmsaActivities; calls: CallRecord[] } {
  const calls: CallRecord[] = [];
  const activities = {} as Record<Name, (input: unknown) => Promise<unknown>>;
  const real: Overrides = createQueueActivity();
  for (const name of Object.keys(DOUBLE_RESULTS) as Name[]) {
    const impl =
      (overrides[name] as ((input: unknown) => Promise<unknown>) | undefined) ??
      (real[name] as ((input: unknown) => Promise<unknown>) | undefined) ??
      (async (input: unknown) => doubleResult(name, input as never));
    activities[name] = keepAlive(async (input: unknown) => {
      const startedAt = Date.now();
      let output: unknown;
      try {
        output = await impl(input);
        return output;
      } finally {
        calls.push({ name, input, output, startedAt, endedAt: Date.now() });
      }
    });
  }
  return { activities: activities as unknown as GmsaActivities, calls };
}
