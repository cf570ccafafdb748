/**
 * Who can read a binding's Key Vault secret, and who should: `Get-AksAgentPoolsAkvAccess` of the AksGMSA module
 * (every agent pool with the identities on its scale set and whether each has access to the vault), plus RBAC
 * vaults and the other direction (every principal with read on the secret, and whether it is expected). Pure.
 *
 * Who should read it: the binding's host identity, on every Windows pool of the cluster (a repair puts it on pools
 * added since the provisioning too, so those are expected as well; `namedByBinding` tells them apart). A Linux
 * pool has no need: it is `absent` when nothing on it reads the secret, `unexpected` when something does. Among
 * principals, the host principal is expected, and the worker (it writes the secret, and rotates it); anything else
 * with read is unexpected: on an access-policy vault that includes every principal whose policy has `get`, since
 * a policy covers every secret of the vault.
 */

/** A pool as inspectCluster reports it (contract/inspection.ts PoolFacts). */
export interface PoolInput {
  name: string;
  osType: 'Windows' | 'Linux';
  osSku?: string;
  scaleSet?: string;
  identities: string[];
  identityPrincipals?: Record<string, string>;
}

/** A grant as listSecretReaders reports it (contract/inspection.ts SecretReaderEntry). */
export interface ReaderInput {
  principalId: string;
  via: 'accessPolicy' | 'roleAssignment';
  scope: string;
  permissions: string[];
  readsValue: boolean;
  role?: string;
}

export interface AccessReportInput {
  bindingId: string;
  hostIdentity: 'managedIdentity' | 'kubeletIdentity';
  /** The principal that should read the secret (the provisioning's hostPrincipalId). */
  hostPrincipalId: string;
  /** The binding's managed identity (resource id), with hostIdentity managedIdentity. */
  hostIdentityId?: string;
  /** The Windows pools the binding's request names. */
  windowsNodePools: string[];
  kubeletIdentity?: { objectId: string; resourceId: string };
  pools: PoolInput[];
  accessModel: 'accessPolicy' | 'rbac';
  vaultId: string;
  secretName: string;
  readers: ReaderInput[];
  /** The worker's own principal (the ARM caller): it writes the secret. */
  workerPrincipalId?: string;
}

/**
 * `ok`: should read and does; `missing`: should and does not; `absent`: no need and nothing reads; `unexpected`:
 * no need, yet something on it reads.
 */
export type PoolStatus = 'ok' | 'missing' | 'absent' | 'unexpected';

export interface IdentityAccess {
  id: string;
  principalId?: string;
  /** host: the binding's identity; kubelet: the cluster's kubelet identity; other: anything else. */
  kind: 'host' | 'kubelet' | 'other';
  canRead: boolean;
}

export interface PoolAccess {
  name: string;
  osType: 'Windows' | 'Linux';
  osSku?: string;
  scaleSet?: string;
  namedByBinding: boolean;
  identities: IdentityAccess[];
  shouldRead: boolean;
  canRead: boolean;
  status: PoolStatus;
  /** Why, in a few words. */
  note: string;
}

export interface PrincipalAccess {
  principalId: string;
  /** Why it is expected (`host`, `worker`), or `unexpected`. */
  role: 'host' | 'worker' | 'unexpected';
  expected: boolean;
  /** The identity (resource id) it is, when one on the cluster's scale sets has its principal. */
  identity?: string;
  /** The pools whose scale set carries it. */
  pools: string[];
  grants: { via: 'accessPolicy' | 'roleAssignment'; scope: string; role?: string; permissions: string[] }[];
}

export interface AccessReport {
  bindingId: string;
  vault: { id: string; accessModel: 'accessPolicy' | 'rbac'; secretName: string };
  /** An access-policy vault cannot scope: whoever reads this secret reads every secret of the vault. */
  wholeVault: boolean;
  host: { identity: 'managedIdentity' | 'kubeletIdentity'; principalId: string; identityId?: string };
  pools: PoolAccess[];
  principals: PrincipalAccess[];
  /** Every mismatch, one line each: empty when the world is as the binding says. */
  problems: string[];
}

const lower = (s: string) => s.toLowerCase();

export function accessReport(i: AccessReportInput): AccessReport {
  const host = lower(i.hostPrincipalId);
  const worker = i.workerPrincipalId ? lower(i.workerPrincipalId) : undefined;
  const readers = new Map<string, ReaderInput[]>();
  for (const r of i.readers.filter((x) => x.readsValue)) {
    const k = lower(r.principalId);
    readers.set(k, [...(readers.get(k) ?? []), r]);
  }
  const named = new Set(i.windowsNodePools.map(lower));
  const kubeletId = i.kubeletIdentity && lower(i.kubeletIdentity.resourceId);
  const hostId = i.hostIdentityId && lower(i.hostIdentityId);

  /** The principal of an identity on a scale set: as the scale set reports it, else what the binding knows. */
  const principalOf = (p: PoolInput, id: string): string | undefined => {
    const reported = Object.entries(p.identityPrincipals ?? {}).find(([k]) => lower(k) === lower(id))?.[1];
    if (reported) return lower(reported);
    if (hostId && lower(id) === hostId) return host;
    if (kubeletId && lower(id) === kubeletId && i.kubeletIdentity) return lower(i.kubeletIdentity.objectId);
    return undefined;
  };

  const pools: PoolAccess[] = i.pools.map((p) => {
    const identities: IdentityAccess[] = p.identities.map((id) => {
      const principalId = principalOf(p, id);
      const kind: IdentityAccess['kind'] =
        hostId && lower(id) === hostId
          ? 'host'
          : kubeletId && lower(id) === kubeletId
            ? i.hostIdentity === 'kubeletIdentity'
              ? 'host'
              : 'kubelet'
            : 'other';
      return { id, ...(principalId ? { principalId } : {}), kind, canRead: !!principalId && readers.has(principalId) };
    });
    const shouldRead = p.osType === 'Windows';
    const canRead = identities.some((x) => x.canRead);
    const hostReads = identities.some((x) => x.kind === 'host' && x.canRead);
    const status: PoolStatus = shouldRead ? (hostReads ? 'ok' : 'missing') : canRead ? 'unexpected' : 'absent';
    const readersHere = identities.filter((x) => x.canRead).map((x) => x.id.split('/').pop());
    const hostOn = identities.some((x) => x.kind === 'host');
    const note = {
      ok: `the host identity is on ${p.scaleSet ?? 'its scale set'} and reads the secret`,
      missing: !p.scaleSet
        ? 'no scale set found for the pool'
        : !hostOn
          ? `the host identity is not on ${p.scaleSet}: run repair`
          : 'the host identity is on the scale set but may not read the secret: run repair',
      absent: 'a Linux pool: no identity on it reads the secret, as it should be',
      unexpected: `a Linux pool, yet ${readersHere.join(', ')} on it may read the secret`,
    }[status];
    return {
      name: p.name,
      osType: p.osType,
      ...(p.osSku ? { osSku: p.osSku } : {}),
      ...(p.scaleSet ? { scaleSet: p.scaleSet } : {}),
      namedByBinding: named.has(lower(p.name)),
      identities,
      shouldRead,
      canRead,
      status,
      note,
    };
  });

  const principals: PrincipalAccess[] = [...readers.entries()].map(([principalId, grants]) => {
    const on = pools.filter((p) => p.identities.some((x) => x.principalId === principalId));
    const identity = on.flatMap((p) => p.identities.filter((x) => x.principalId === principalId))[0]?.id;
    const role = principalId === host ? 'host' : principalId === worker ? 'worker' : 'unexpected';
    return {
      principalId,
      role,
      expected: role !== 'unexpected',
      ...(identity ? { identity } : {}),
      pools: on.map((p) => p.name),
      grants: grants.map((g) => ({
        via: g.via,
        scope: g.scope,
        ...(g.role ? { role: g.role } : {}),
        permissions: g.permissions,
      })),
    };
  });

  const problems = [
    ...(readers.has(host) ? [] : [`the host principal ${host} may not read the secret`]),
    ...pools.filter((p) => p.status === 'missing' || p.status === 'unexpected').map((p) => `pool ${p.name}: ${p.note}`),
    ...principals
      .filter((p) => !p.expected)
      .map(
        (p) =>
          `${p.identity ? `identity ${p.identity.split('/').pop()}` : `principal ${p.principalId}`} may read the secret (${p.grants.map((g) => g.role ?? g.via).join(', ')}) but is not the binding's`,
      ),
  ];

  return {
    bindingId: i.bindingId,
    vault: { id: i.vaultId, accessModel: i.accessModel, secretName: i.secretName },
    wholeVault: i.accessModel === 'accessPolicy',
    host: {
      identity: i.hostIdentity,
      principalId: host,
      ...(i.hostIdentityId ? { identityId: i.hostIdentityId } : {}),
    },
    pools,
    principals,
    problems,
  };
}
