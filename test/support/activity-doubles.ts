/**
 * Activity doubles for workflow-logic tests and the engine benchmark: zero-latency, deterministic results in the
 * shape of the real ones, each call recorded with its start and end time so tests can prove overlap and order.
 */
import type { GmsaActivities } from '../../activities/types.js';

type Name = keyof GmsaActivities;

export interface CallRecord {
  name: Name;
  input: unknown;
  startedAt: number;
  endedAt: number;
}

export const DOUBLE_RESULTS = {
  confirmAksGmsa: {
    clusterId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1',
    nodeResourceGroup: 'MC_rg_aks1_westeurope',
    enabledByThisRun: true,
    kubeletIdentity: { objectId: 'kubelet-object-id', clientId: 'kubelet-client-id', resourceId: '/kubelet' },
  },
  ensureManagedIdentity: {
    id: '/mi/mi-gmsa-01',
    principalId: 'mi-principal-id',
    clientId: 'mi-client-id',
    created: true,
  },
  ensureKeyVault: { id: '/kv/kv-gmsa-01', vaultUri: 'https://kv-gmsa-01.vault.azure.net/', created: true },
  storeUserSecret: { secretUri: 'https://kv-gmsa-01.vault.azure.net/secrets/gmsa-webapp01', created: true },
  getDomainFacts: {
    dnsName: 'contoso.com',
    netbiosName: 'CONTOSO',
    forestRoot: 'contoso.com',
    domainGuid: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee',
    domainSid: 'S-1-5-21-1111111111-2222222222-3333333333',
  },
  ensureKdsRootKey: { keyId: 'kds-key-1', usableAt: '2000-01-01T00:00:00.000Z', created: false },
  ensureDomainUser: {
    dn: 'CN=gmsa-webapp01,CN=Users,DC=contoso,DC=com',
    sid: 'S-1-5-21-1-2-3-1105',
    created: true,
    passwordReset: false,
  },
  ensureGmsa: {
    dn: 'CN=webapp01,CN=Managed Service Accounts,DC=contoso,DC=com',
    sid: 'S-1-5-21-1-2-3-1106',
    created: true,
    membershipChanged: false,
  },
  grantKeyVaultAccess: {
    principalId: 'mi-principal-id',
    scaleSetsUpdated: ['aks-win1-12345678-vmss'],
    access: 'accessPolicy',
  },
  ensureCredentialSpec: {
    name: 'webapp01',
    resourceVersion: '1',
    clusterRole: 'webapp01-role',
    roleBinding: { namespace: 'default', name: 'allow-default-svc-account-read-on-webapp01' },
    changed: true,
  },
  verifyChain: { checks: [{ link: 'secret', ok: true, detail: 'ok' }] },
  removeCredentialSpec: { removed: ['GMSACredentialSpec/webapp01'], kept: [] },
  removeGmsa: { removed: true },
  removeDomainUser: { removed: true },
  removeScaleSetIdentity: { scaleSetsUpdated: ['aks-win1-12345678-vmss'] },
  deleteKeyVault: { deleted: true, purged: true },
  deleteManagedIdentity: { deleted: true },
} satisfies { [N in Name]: Awaited<ReturnType<GmsaActivities[N]>> };

export type Overrides = Partial<{ [N in Name]: (input: Parameters<GmsaActivities[N]>[0]) => Promise<unknown> }>;

/** A full activity set; `overrides` replace single steps (slow ones, failing ones). */
export function activityDoubles(overrides: Overrides = {}): { activities: GmsaActivities; calls: CallRecord[] } {
  const calls: CallRecord[] = [];
  const activities = {} as Record<Name, (input: unknown) => Promise<unknown>>;
  for (const name of Object.keys(DOUBLE_RESULTS) as Name[]) {
    const impl =
      (overrides[name] as ((input: unknown) => Promise<unknown>) | undefined) ??
      (async () => structuredClone(DOUBLE_RESULTS[name]));
    activities[name] = async (input: unknown) => {
      const startedAt = Date.now();
      try {
        return await impl(input);
      } finally {
        calls.push({ name, input, startedAt, endedAt: Date.now() });
      }
    };
  }
  return { activities: activities as unknown as GmsaActivities, calls };
}
