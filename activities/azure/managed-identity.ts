/**
 * The user-assigned managed identity the Windows hosts use to read the secret (New-GMSAManagedIdentity): read
 * first, create only when missing. Its principalId is what the node plugin's PluginInput ObjectId names.
 */
import type { Identity } from '@azure/arm-msi';
import type { AzureClients } from './clients.js';
import { azureCall, isNotFound } from './errors.js';
import { detachFromScaleSets } from './key-vault-access.js';
import type {
  AzureResourceRef,
  DeleteManagedIdentityInput,
  EnsureManagedIdentityInput,
  ManagedIdentityResult,
} from '../../contract/activities.js';

const label = (r: AzureResourceRef) => `managed identity ${r.resourceGroup}/${r.name}`;

function toResult(mi: Identity, created: boolean): ManagedIdentityResult {
  return { id: String(mi.id), principalId: String(mi.principalId), clientId: String(mi.clientId), created };
}

export function createManagedIdentityActivities(clients: AzureClients) {
  async function ensureManagedIdentity(input: EnsureManagedIdentityInput): Promise<ManagedIdentityResult> {
    const msi = clients.msi(input.subscriptionId).userAssignedIdentities;
    const existing = await azureCall(`get ${label(input)}`, () =>
      msi.get(input.resourceGroup, input.name).catch((e: unknown) => {
        if (isNotFound(e) && (e as { code?: string }).code !== 'ResourceGroupNotFound') return undefined;
        throw e;
      }),
    );
    if (existing) return toResult(existing, false);
    const created = await azureCall(`create ${label(input)}`, () =>
      msi.createOrUpdate(input.resourceGroup, input.name, { location: input.location }),
    );
    return toResult(created, true);
  }

  /**
   * Rollback: removes the identity; true when there was one to remove. Azure deletes an identity a scale set still
   * names and leaves the reference dangling (the scale set's next update then fails), so with `detachFrom` it is
   * first detached from every scale set of the cluster that has it, whatever the earlier steps recorded.
   */
  async function deleteManagedIdentity(
    input: DeleteManagedIdentityInput,
  ): Promise<{ deleted: boolean; detachedFrom?: string[] }> {
    const msi = clients.msi(input.subscriptionId).userAssignedIdentities;
    const found = await azureCall(`get ${label(input)}`, () =>
      msi.get(input.resourceGroup, input.name).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e))),
    );
    if (!found) return { deleted: false, ...(input.detachFrom ? { detachedFrom: [] } : {}) };
    const detachedFrom = input.detachFrom
      ? await detachFromScaleSets(
          clients,
          input.detachFrom.subscriptionId,
          input.detachFrom.nodeResourceGroup,
          String(found.id),
        )
      : undefined;
    await azureCall(`delete ${label(input)}`, () => msi.delete(input.resourceGroup, input.name));
    return { deleted: true, ...(detachedFrom ? { detachedFrom } : {}) };
  }

  return { ensureManagedIdentity, deleteManagedIdentity };
}
