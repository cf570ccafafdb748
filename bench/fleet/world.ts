/**
 * The fleet's objects as each outside system holds them, read there and not from what the runs say: whether any
 * Azure or AD object exists twice (after workers died mid-step, a retried create must have found the first), and
 * removing what the bench left in the shared DC and API server.
 */
import { CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import {
  clusterRoleName,
  CREDSPEC_GROUP,
  CREDSPEC_PLURAL,
  CREDSPEC_VERSION,
  roleBindingName,
} from '../../domain/credential-spec.js';
import { adLabFromEnv, baseDn, connect } from '../../lab/samba/client.js';
import type { FleetLab } from './lab.js';
import type { Fleet } from './requests.js';

type StateResource = Record<string, unknown> & { id: string; name: string; type: string };
const lower = (s: unknown) => String(s ?? '').toLowerCase();
const props = (r: StateResource | undefined) => (r?.properties ?? {}) as Record<string, unknown>;

/** sAMAccountName → how many accounts carry it, for every account whose name starts with one of `prefixes`. */
async function accountsByName(settings: Record<string, string>, prefixes: string[]) {
  const ad = adLabFromEnv(settings);
  const s = await connect(ad);
  try {
    const filter = `(|${prefixes.map((p) => `(sAMAccountName=${p}*)`).join('')})`;
    const { searchEntries } = await s.client.search(baseDn(ad), {
      scope: 'sub',
      filter,
      attributes: ['sAMAccountName'],
      paged: { pageSize: 500 },
    });
    return searchEntries.map((e) => ({ dn: e.dn, sam: lower(e.sAMAccountName) }));
  } finally {
    await s.close();
  }
}

/** One line per kind of object: how many of the fleet's exist exactly once, and what exists twice or is missing. */
export async function duplicateCheck(lab: FleetLab, fleet: Fleet): Promise<{ lines: string[]; twice: string[] }> {
  const { resources } = (await lab.admin.state()) as { resources: StateResource[] };
  const twice: string[] = [];
  const lines: string[] = [];
  const ofType = (type: string) => resources.filter((r) => lower(r.type) === type.toLowerCase());
  const once = (what: string, names: string[], count: (name: string) => number) => {
    const distinct = [...new Set(names)];
    const counts = distinct.map((n) => [n, count(n)] as const);
    for (const [n, c] of counts) if (c > 1) twice.push(`${what} ${n}: ${c}`);
    const missing = counts.filter(([, c]) => c === 0).length;
    lines.push(
      `${what}: ${counts.filter(([, c]) => c === 1).length}/${distinct.length} once` +
        `${missing ? `, ${missing} missing` : ''}${counts.some(([, c]) => c > 1) ? ', SOME TWICE' : ''}`,
    );
  };

  const identities = ofType('Microsoft.ManagedIdentity/userAssignedIdentities');
  const identity = (name: string) => identities.filter((r) => lower(r.name) === lower(name));
  once(
    'managed identities',
    fleet.requests.map((r) => r.azure.managedIdentity.name),
    (n) => identity(n).length,
  );
  const vaults = ofType('Microsoft.KeyVault/vaults');
  const vault = (name: string) => vaults.filter((r) => lower(r.name) === lower(name));
  once(
    'key vaults',
    fleet.requests.map((r) => r.azure.keyVault.name),
    (n) => vault(n).length,
  );
  // Per binding: its hosts' principal has one access-policy entry on its vault, or one role assignment per role on
  // its secret (or the vault); bindings sharing an identity share the entry, never an assignment of another secret.
  const principalOf = (r: Fleet['requests'][number]) =>
    lower(props(identity(r.azure.managedIdentity.name)[0]).principalId);
  const assignments = ofType('Microsoft.Authorization/roleAssignments');
  const grants = new Map<string, number>();
  for (const r of fleet.requests) {
    const principal = principalOf(r);
    const v = vault(r.azure.keyVault.name)[0];
    const policies = (props(v).accessPolicies ?? []) as Array<{ objectId?: string }>;
    const entries = policies.filter((p) => lower(p.objectId) === principal).length;
    const scopes = [lower(v?.id), lower(`${v?.id}/secrets/${r.azure.keyVault.secretName}`)];
    const byScope = new Map<string, number>();
    for (const a of assignments) {
      if (lower(props(a).principalId) !== principal || !scopes.includes(lower(props(a).scope))) continue;
      const k = `${lower(props(a).scope)} ${lower(props(a).roleDefinitionId)}`;
      byScope.set(k, (byScope.get(k) ?? 0) + 1);
    }
    grants.set(
      `${r.azure.keyVault.name}/${r.azure.keyVault.secretName} for ${r.azure.managedIdentity.name}`,
      entries + byScope.size,
    );
    for (const [k, c] of byScope) if (c > 1) twice.push(`role assignment ${k}: ${c}`);
  }
  once('vault grants (access-policy entry, or role assignment on the secret, per binding)', [...grants.keys()], (k) =>
    grants.get(k)!,
  );

  // Per cluster: each binding's identity is on its Windows scale set, and no identity is listed twice.
  const scaleSets = ofType('Microsoft.Compute/virtualMachineScaleSets');
  const onScaleSet = new Map<string, number>();
  for (const r of fleet.requests) {
    const nodeRg = `/resourcegroups/mc_${r.cluster.resourceGroup}_${r.cluster.name}_${r.azure.location}/`.toLowerCase();
    for (const vmss of scaleSets.filter((s) => lower(s.id).includes(nodeRg))) {
      const pool = (vmss.tags as Record<string, string> | undefined)?.['aks-managed-poolName'] ?? '';
      if (!r.cluster.windowsNodePools.includes(pool)) continue;
      const ids = Object.keys(
        ((vmss.identity ?? {}) as { userAssignedIdentities?: object }).userAssignedIdentities ?? {},
      ).map(lower);
      const mine = lower(identity(r.azure.managedIdentity.name)[0]?.id);
      onScaleSet.set(
        `${mine ? mine.split('/').pop() : r.azure.managedIdentity.name} on ${vmss.name} of ${r.cluster.name}`,
        ids.filter((i) => i === mine).length,
      );
    }
  }
  once('identities on scale sets', [...onScaleSet.keys()], (k) => onScaleSet.get(k)!);

  const accounts = await accountsByName(lab.settings, [
    ...new Set(fleet.requests.flatMap((r) => [r.gmsa.name, r.gmsa.standardUser])),
  ]);
  const count = (sam: string) => accounts.filter((a) => a.sam === sam.toLowerCase()).length;
  once(
    'AD standard users',
    fleet.requests.map((r) => r.gmsa.standardUser),
    count,
  );
  once(
    'AD gMSAs',
    fleet.requests.map((r) => `${r.gmsa.name}$`),
    count,
  );
  return { lines, twice };
}

const missing = (e: unknown) => (e as { code?: number }).code === 404;

/** Removes the fleets' AD accounts (every name starting with a prefix) and credential specs with their RBAC. */
export async function removeObjects(lab: FleetLab, fleets: Fleet[], prefixes: string[]): Promise<string> {
  const accounts = await accountsByName(lab.settings, prefixes);
  const ad = adLabFromEnv(lab.settings);
  const s = await connect(ad);
  try {
    for (const a of accounts) await s.client.del(a.dn);
  } finally {
    await s.close();
  }
  const kc = new KubeConfig();
  kc.loadFromFile(lab.settings.KUBECONFIG as string);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const gone = (e: unknown) => {
    if (!missing(e)) throw e;
  };
  const queue = fleets.flatMap((f) => f.requests);
  let specs = 0;
  const one = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      const name = r.gmsa.credentialSpecName;
      const { namespace, serviceAccount } = r.options.rbac;
      await custom
        .deleteClusterCustomObject({ group: CREDSPEC_GROUP, version: CREDSPEC_VERSION, plural: CREDSPEC_PLURAL, name })
        .then(() => (specs += 1), gone);
      await rbac.deleteClusterRole({ name: clusterRoleName(name) }).catch(gone);
      await rbac.deleteNamespacedRoleBinding({ name: roleBindingName(name, serviceAccount), namespace }).catch(gone);
    }
  };
  await Promise.all(Array.from({ length: 8 }, one));
  return `removed ${accounts.length} AD accounts and ${specs} credential specs (with their RBAC) of this run`;
}
