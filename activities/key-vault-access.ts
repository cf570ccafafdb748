/**
 * Windows hosts' access to the secret (Grant-AkvAccessToAksWindowsHosts). With hostIdentity managedIdentity the
 * identity is appended to each Windows pool's scale set, keeping the identities already there (the kubelet's and
 * any other); with kubeletIdentity no scale set changes. Then the principal gets `get` on secrets by access policy,
 * or the "Key Vault Secrets User" role on an RBAC vault.
 */
import type { VirtualMachineScaleSet, VirtualMachineScaleSetIdentity } from '@azure/arm-compute';
import type { AzureClients } from './azure-clients.js';
import { azureCall } from './azure-errors.js';
import { pollWithHeartbeat } from './azure-poll.js';
import { ensureAccessPolicy, ensureRoleAssignment, ROLE } from './azure-vault-access.js';
import { ErrorType, fatal } from './errors.js';
import type { ClusterRef, GrantKeyVaultAccessInput, GrantKeyVaultAccessResult } from './types.js';

const POOL_TAG = 'aks-managed-poolName';

import type { RemoveScaleSetIdentityInput } from './types.js';

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The identity block with `add` appended to, or `remove` taken from, what the scale set has. */
export function nextIdentity(
  current: VirtualMachineScaleSetIdentity | undefined,
  change: { add?: string; remove?: string },
): VirtualMachineScaleSetIdentity {
  const system = /SystemAssigned/i.test(current?.type ?? '');
  const ids = Object.keys(current?.userAssignedIdentities ?? {}).filter(
    (id) => !change.remove || !sameId(id, change.remove),
  );
  if (change.add && !ids.some((id) => sameId(id, change.add as string))) ids.push(change.add);
  const userAssignedIdentities: Record<string, object | null> = Object.fromEntries(ids.map((id) => [id, {}]));
  // Sending null for the removed one detaches it whether the service merges or replaces the map.
  if (change.remove) userAssignedIdentities[change.remove] = null;
  const type = ids.length
    ? system
      ? 'SystemAssigned, UserAssigned'
      : 'UserAssigned'
    : system
      ? 'SystemAssigned'
      : 'None';
  return { type, ...(ids.length || change.remove ? { userAssignedIdentities: userAssignedIdentities as never } : {}) };
}

export function createKeyVaultAccessActivities(clients: AzureClients) {
  /** The scale set of each named Windows pool, by AKS's pool tag, falling back to its naming pattern. */
  async function windowsScaleSets(cluster: ClusterRef, nodeResourceGroup: string): Promise<VirtualMachineScaleSet[]> {
    const all: VirtualMachineScaleSet[] = await azureCall(`list scale sets in ${nodeResourceGroup}`, async () => {
      const out: VirtualMachineScaleSet[] = [];
      for await (const s of clients.compute(cluster.subscriptionId).virtualMachineScaleSets.list(nodeResourceGroup))
        out.push(s);
      return out;
    });
    return cluster.windowsNodePools.map((pool) => {
      const found =
        all.find((s) => s.tags?.[POOL_TAG]?.toLowerCase() === pool.toLowerCase()) ??
        all.find((s) => s.name?.toLowerCase() === `aks${pool}`.toLowerCase());
      if (!found) {
        throw fatal(
          ErrorType.PreconditionFailed,
          `no scale set for node pool '${pool}' in ${nodeResourceGroup} (looked for tag ${POOL_TAG}=${pool}); scale sets there: ${all.map((s) => s.name).join(', ') || 'none'}`,
        );
      }
      return found;
    });
  }

  async function patchIdentity(
    cluster: ClusterRef,
    nodeResourceGroup: string,
    vmss: VirtualMachineScaleSet,
    identity: VirtualMachineScaleSetIdentity,
  ): Promise<void> {
    const what = `update identities of scale set ${nodeResourceGroup}/${vmss.name}`;
    await azureCall(what, async () => {
      const poller = await clients.compute(cluster.subscriptionId).virtualMachineScaleSets.beginUpdate(
        nodeResourceGroup,
        String(vmss.name),
        { identity },
        {
          updateIntervalInMs: clients.pollIntervalMs,
        },
      );
      return pollWithHeartbeat(what, poller);
    });
  }

  async function grantKeyVaultAccess(input: GrantKeyVaultAccessInput): Promise<GrantKeyVaultAccessResult> {
    const { cluster, nodeResourceGroup, vault, managedIdentity } = input;
    const principalId =
      input.hostIdentity === 'managedIdentity' ? managedIdentity?.principalId : input.kubeletIdentity?.objectId;
    if (!principalId) {
      throw fatal(
        ErrorType.InvalidInput,
        input.hostIdentity === 'managedIdentity'
          ? 'hostIdentity is managedIdentity but no managed identity was given'
          : 'hostIdentity is kubeletIdentity but the cluster reported no kubelet identity',
      );
    }
    const scaleSetsUpdated: string[] = [];
    if (managedIdentity && input.hostIdentity === 'managedIdentity') {
      for (const vmss of await windowsScaleSets(cluster, nodeResourceGroup)) {
        const ids = Object.keys(vmss.identity?.userAssignedIdentities ?? {});
        if (ids.some((id) => sameId(id, managedIdentity.id))) continue;
        await patchIdentity(cluster, nodeResourceGroup, vmss, nextIdentity(vmss.identity, { add: managedIdentity.id }));
        scaleSetsUpdated.push(String(vmss.name));
      }
    }
    const current = await azureCall(`get key vault ${vault.resourceGroup}/${vault.name}`, () =>
      clients.keyVault(vault.subscriptionId).vaults.get(vault.resourceGroup, vault.name),
    );
    const rbacVault = Boolean(current.properties.enableRbacAuthorization);
    if (rbacVault !== (input.accessMode === 'rbac')) {
      throw fatal(
        ErrorType.PreconditionFailed,
        `key vault ${vault.name} is in ${rbacVault ? 'RBAC' : 'access-policy'} mode but access by ${input.accessMode} was requested: ${rbacVault ? 'an RBAC vault ignores access policies' : 'an access-policy vault ignores role assignments'}.`,
      );
    }
    if (rbacVault) {
      await ensureRoleAssignment(clients, vault.subscriptionId, vault.id, principalId, ROLE.keyVaultSecretsUser);
    } else {
      await ensureAccessPolicy(clients, vault, current, principalId, ['get']);
    }
    return { principalId, scaleSetsUpdated, access: rbacVault ? 'roleAssignment' : 'accessPolicy' };
  }

  /** Rollback: detaches the identity from each Windows pool's scale set, keeping every other identity. */
  async function removeScaleSetIdentity(input: RemoveScaleSetIdentityInput): Promise<{ scaleSetsUpdated: string[] }> {
    const scaleSetsUpdated: string[] = [];
    for (const vmss of await windowsScaleSets(input.cluster, input.nodeResourceGroup)) {
      const ids = Object.keys(vmss.identity?.userAssignedIdentities ?? {});
      if (!ids.some((id) => sameId(id, input.identityId))) continue;
      const identity = nextIdentity(vmss.identity, { remove: input.identityId });
      await patchIdentity(input.cluster, input.nodeResourceGroup, vmss, identity);
      scaleSetsUpdated.push(String(vmss.name));
    }
    return { scaleSetsUpdated };
  }

  return { grantKeyVaultAccess, removeScaleSetIdentity };
}
