/**
 * Windows hosts' access to the secret (Grant-AkvAccessToAksWindowsHosts). With hostIdentity managedIdentity the
 * identity is appended to each Windows pool's scale set, keeping the identities already there (the kubelet's and
 * any other); with kubeletIdentity no scale set changes. Then the principal gets `get` on secrets by access policy,
 * or the "Key Vault Secrets User" role on an RBAC vault.
 */
import type { VirtualMachineScaleSet, VirtualMachineScaleSetIdentity } from '@azure/arm-compute';
import type { AzureClients } from './clients.js';
import { azureCall } from './errors.js';
import { resumableOperation } from './poll.js';
import { ensureAccessPolicy, ensureRoleAssignment, ROLE } from './vault-access.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import type {
  ClusterRef,
  GrantKeyVaultAccessInput,
  GrantKeyVaultAccessResult,
  RemoveScaleSetIdentityInput,
} from '../../contract/activities.js';

const POOL_TAG = 'aks-managed-poolName';

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The PATCH body that adds or removes one user-assigned identity, in Azure's merge form: a scale set's PATCH
 * merges `userAssignedIdentities` into what it has, `{}` attaching an identity and `null` detaching it, and leaves
 * every identity it does not name in place ("Configure managed identities for Azure resources on a virtual machine
 * scale set using REST API calls", Microsoft Entra docs; VirtualMachineScaleSetUpdate in
 * specification/compute/resource-manager/Microsoft.Compute/ComputeRP). Sending only the change, never a copy of
 * the map read earlier, means an identity another team attached or detached since that read stays as they left
 * it. `type` still names every kind the scale set keeps; the last user-assigned identity goes by `type` alone
 * (`None`, or `SystemAssigned` when there is one), as the same page says. Undefined when there is nothing to do.
 */
export function identityChange(
  current: VirtualMachineScaleSetIdentity | undefined,
  change: { add: string } | { remove: string },
): VirtualMachineScaleSetIdentity | undefined {
  const system = /SystemAssigned/i.test(current?.type ?? '');
  const ids = Object.keys(current?.userAssignedIdentities ?? {});
  const target = 'add' in change ? change.add : change.remove;
  const attached = ids.some((id) => sameId(id, target));
  if ('add' in change) {
    if (attached) return undefined;
    return {
      type: system ? 'SystemAssigned, UserAssigned' : 'UserAssigned',
      userAssignedIdentities: { [target]: {} },
    };
  }
  if (!attached) return undefined;
  const others = ids.filter((id) => !sameId(id, target));
  if (others.length === 0) return { type: system ? 'SystemAssigned' : 'None' };
  return {
    type: system ? 'SystemAssigned, UserAssigned' : 'UserAssigned',
    // The SDK's type has no null values; the REST contract does (the removal form above).
    userAssignedIdentities: { [target]: null } as unknown as VirtualMachineScaleSetIdentity['userAssignedIdentities'],
  };
}

/** One identity change on one scale set, waited for to the end of its long-running operation. */
async function patchIdentity(
  clients: AzureClients,
  subscriptionId: string,
  nodeResourceGroup: string,
  vmss: VirtualMachineScaleSet,
  identity: VirtualMachineScaleSetIdentity,
): Promise<void> {
  const what = `update identities of scale set ${nodeResourceGroup}/${vmss.name}`;
  // ARM checks the linked action on each identity named (403 LinkedAuthorizationFailed without it).
  const hint =
    'the worker needs Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action on the identity (role Managed Identity Operator) besides write on the scale set';
  await azureCall(
    what,
    () =>
      resumableOperation(what, (resumeFrom) =>
        clients
          .compute(subscriptionId)
          .virtualMachineScaleSets.beginUpdate(
            nodeResourceGroup,
            String(vmss.name),
            { identity },
            { updateIntervalInMs: clients.pollIntervalMs, resumeFrom },
          ),
      ),
    hint,
  );
}

/**
 * Detaches `identityId` from every scale set in the node resource group that has it (any pool, not only the
 * Windows ones: a dangling reference anywhere breaks that scale set's next update). Returns the names changed.
 */
export async function detachFromScaleSets(
  clients: AzureClients,
  subscriptionId: string,
  nodeResourceGroup: string,
  identityId: string,
): Promise<string[]> {
  const all = await azureCall(`list scale sets in ${nodeResourceGroup}`, async () => {
    const out: VirtualMachineScaleSet[] = [];
    for await (const s of clients.compute(subscriptionId).virtualMachineScaleSets.list(nodeResourceGroup)) out.push(s);
    return out;
  });
  const changed: string[] = [];
  for (const vmss of all) {
    const identity = identityChange(vmss.identity, { remove: identityId });
    if (!identity) continue;
    await patchIdentity(clients, subscriptionId, nodeResourceGroup, vmss, identity);
    changed.push(String(vmss.name));
  }
  return changed;
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
    // The vault first: a refusal must come before any write, or it would leave the identity attached.
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
    const scaleSetsUpdated: string[] = [];
    if (managedIdentity && input.hostIdentity === 'managedIdentity') {
      for (const vmss of await windowsScaleSets(cluster, nodeResourceGroup)) {
        const identity = identityChange(vmss.identity, { add: managedIdentity.id });
        if (!identity) continue;
        await patchIdentity(clients, cluster.subscriptionId, nodeResourceGroup, vmss, identity);
        scaleSetsUpdated.push(String(vmss.name));
      }
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
      const identity = identityChange(vmss.identity, { remove: input.identityId });
      if (!identity) continue;
      await patchIdentity(clients, input.cluster.subscriptionId, input.nodeResourceGroup, vmss, identity);
      scaleSetsUpdated.push(String(vmss.name));
    }
    return { scaleSetsUpdated };
  }

  return { grantKeyVaultAccess, removeScaleSetIdentity };
}
