/**
 * Read-only inspections of a binding's Azure side (contract/inspection.ts): every node pool of a managed cluster
 * with its scale set's user-assigned identities (what `Get-AksAgentPoolsAkvAccess` lists), and every principal
 * that may read a Key Vault secret, by access policy or by role assignment at or above the secret. No writes.
 */
import type { RoleAssignment } from '@azure/arm-authorization';
import type { AzureClients } from './clients.js';
import { azureCall } from './errors.js';
import { listScaleSets, poolScaleSet } from './scale-set-identities.js';
import { ROLE } from './vault-access.js';
import type {
  ClusterFacts,
  InspectClusterInput,
  InspectionActivities,
  ListSecretReadersInput,
  ListSecretReadersResult,
  PoolFacts,
  SecretReaderEntry,
} from '../../contract/inspection.js';

/**
 * The built-in roles that give something on a vault's secrets, with the secret operations of their dataActions
 * ("Azure built-in roles", Security: Key Vault). Key Vault Reader reads metadata only (no secret value): it is
 * listed, with `readsValue` false, since it still shows that the secret exists.
 */
export const SECRET_ROLES: Record<string, { name: string; permissions: string[] }> = {
  [ROLE.keyVaultSecretsUser]: { name: 'Key Vault Secrets User', permissions: ['get'] },
  [ROLE.keyVaultSecretsOfficer]: {
    name: 'Key Vault Secrets Officer',
    permissions: ['get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge'],
  },
  [ROLE.keyVaultAdministrator]: {
    name: 'Key Vault Administrator',
    permissions: ['get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge'],
  },
  '21090545-7ca7-4776-b22c-e363652d74d2': { name: 'Key Vault Reader', permissions: ['list'] },
};

const lower = (s: string) => s.toLowerCase();
const roleOf = (a: RoleAssignment) => String(a.roleDefinitionId).split('/').pop()?.toLowerCase() ?? '';
const readsValue = (permissions: string[]) => permissions.some((p) => /^(get|all)$/i.test(p));

export function createInspectionActivities(clients: AzureClients): InspectionActivities {
  async function inspectCluster(input: InspectClusterInput): Promise<ClusterFacts> {
    const c = input.cluster;
    const label = `cluster ${c.resourceGroup}/${c.name}`;
    const aks = clients.aks(c.subscriptionId);
    const cluster = await azureCall(
      `get ${label}`,
      () => aks.managedClusters.get(c.resourceGroup, c.name),
      'check the subscription, resource group and cluster name, and that the worker identity may read the cluster',
    );
    const nodeResourceGroup = String(cluster.nodeResourceGroup);
    const pools = await azureCall(`list node pools of ${label}`, async () => {
      const out = [];
      for await (const p of aks.agentPools.list(c.resourceGroup, c.name)) out.push(p);
      return out;
    });
    const scaleSets = await listScaleSets(clients, c.subscriptionId, nodeResourceGroup);
    const facts: PoolFacts[] = pools.map((p) => {
      const name = String(p.name);
      // A pool whose scale set is not (yet) there is reported without one, not as a failure: an inspection
      // describes what is, and a pool AKS is still creating has none.
      let vmss;
      try {
        vmss = poolScaleSet(scaleSets, name, nodeResourceGroup);
      } catch {
        vmss = undefined;
      }
      const assigned = vmss?.identity?.userAssignedIdentities ?? {};
      return {
        name,
        osType: p.osType === 'Windows' ? 'Windows' : 'Linux',
        ...(p.osSKU ? { osSku: p.osSKU } : {}),
        ...(p.mode ? { mode: p.mode } : {}),
        ...(vmss?.name ? { scaleSet: vmss.name } : {}),
        identities: Object.keys(assigned),
        identityPrincipals: Object.fromEntries(
          Object.entries(assigned).flatMap(([id, v]) => (v?.principalId ? [[id, v.principalId]] : [])),
        ),
      };
    });
    const kubelet = cluster.identityProfile?.kubeletidentity;
    return {
      clusterId: String(cluster.id),
      nodeResourceGroup,
      gmsaEnabled: cluster.windowsProfile?.gmsaProfile?.enabled === true,
      provisioningState: String(cluster.provisioningState ?? 'Unknown'),
      ...(kubelet?.objectId && kubelet.clientId && kubelet.resourceId
        ? {
            kubeletIdentity: { objectId: kubelet.objectId, clientId: kubelet.clientId, resourceId: kubelet.resourceId },
          }
        : {}),
      pools: facts,
    };
  }

  async function listSecretReaders(input: ListSecretReadersInput): Promise<ListSecretReadersResult> {
    const { vault: ref, secretName } = input;
    const vault = await azureCall(`get key vault ${ref.resourceGroup}/${ref.name}`, () =>
      clients.keyVault(ref.subscriptionId).vaults.get(ref.resourceGroup, ref.name),
    );
    const vaultId = String(vault.id);
    const rbac = Boolean(vault.properties.enableRbacAuthorization);
    const readers: SecretReaderEntry[] = [];
    if (!rbac) {
      // An access policy cannot name a secret: what it gives covers every secret of the vault.
      for (const p of vault.properties.accessPolicies ?? []) {
        const permissions = (p.permissions.secrets ?? []).map((s) => s.toLowerCase());
        if (permissions.length === 0) continue;
        readers.push({
          principalId: lower(p.objectId),
          via: 'accessPolicy',
          scope: vaultId,
          permissions,
          readsValue: readsValue(permissions),
        });
      }
    } else {
      // atScope() at the secret: every assignment at the secret or above it (vault, group, subscription).
      const scope = `${vaultId}/secrets/${secretName}`;
      const assignments = await azureCall(`list role assignments on ${scope}`, async () => {
        const out: RoleAssignment[] = [];
        const authz = clients.authorization(ref.subscriptionId).roleAssignments;
        for await (const a of authz.listForScope(scope, { filter: 'atScope()' })) out.push(a);
        return out;
      });
      for (const a of assignments) {
        const role = SECRET_ROLES[roleOf(a)];
        if (!role || !a.principalId) continue;
        readers.push({
          principalId: lower(a.principalId),
          via: 'roleAssignment',
          scope: String(a.scope),
          permissions: role.permissions,
          readsValue: readsValue(role.permissions),
          role: role.name,
          ...(a.id ? { assignmentId: a.id } : {}),
          ...(a.principalType ? { principalType: a.principalType } : {}),
        });
      }
    }
    const worker = await clients.caller();
    return { accessModel: rbac ? 'rbac' : 'accessPolicy', vaultId, readers, workerPrincipalId: lower(worker.objectId) };
  }

  return { inspectCluster, listSecretReaders };
}
