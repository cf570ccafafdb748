/**
 * The user-assigned managed identity the Windows hosts use to read the secret (New-GMSAManagedIdentity): read
 * first, create only when missing. Its principalId is what the node plugin's PluginInput ObjectId names.
 */
import type { Identity } from '@azure/arm-msi';
import type { AzureClients } from './azure-clients.js';
import { azureCall, isNotFound } from './azure-errors.js';
import type { AzureResourceRef, EnsureManagedIdentityInput, ManagedIdentityResult } from './types.js';

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

  /** Rollback: removes the identity; true when there was one to remove. */
  async function deleteManagedIdentity(input: AzureResourceRef): Promise<{ deleted: boolean }> {
    const msi = clients.msi(input.subscriptionId).userAssignedIdentities;
    const exists = await azureCall(`get ${label(input)}`, () =>
      msi.get(input.resourceGroup, input.name).then(
        () => true,
        (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
      ),
    );
    if (exists) await azureCall(`delete ${label(input)}`, () => msi.delete(input.resourceGroup, input.name));
    return { deleted: exists };
  }

  return { ensureManagedIdentity, deleteManagedIdentity };
}
