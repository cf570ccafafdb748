/**
 * The user-assigned managed identity the Windows hosts use to read the secret (New-GMSAManagedIdentity): read
 * first, create only when missing, with the ownership tags in the create; an existing one is claimed when it is
 * ours, adopted when the caller says so, refused otherwise. Its principalId is what PluginInput ObjectId names.
 */
import type { Identity } from '@azure/arm-msi';
import type { AzureClients } from './clients.js';
import { azureCall, isNotFound } from './errors.js';
import { detachFromScaleSets } from './key-vault-access.js';
import { claimExisting, createdTags, removalOf } from './tags.js';
import { ownerOf } from '../owner.js';
import type {
  AzureResourceRef,
  DeleteManagedIdentityInput,
  EnsureManagedIdentityInput,
  ManagedIdentityResult,
} from '../../contract/activities.js';

const label = (r: AzureResourceRef) => `managed identity ${r.resourceGroup}/${r.name}`;

function toResult(mi: Identity, created: boolean, adopted: boolean): ManagedIdentityResult {
  return {
    id: String(mi.id),
    principalId: String(mi.principalId),
    clientId: String(mi.clientId),
    created,
    adopted,
  };
}

export function createManagedIdentityActivities(clients: AzureClients) {
  const identities = (subscriptionId: string) => clients.msi(subscriptionId).userAssignedIdentities;

  /** The identity, or undefined; `groupMayBeGone`: a missing resource group also means none (for removals). */
  async function find(ref: AzureResourceRef, groupMayBeGone = false): Promise<Identity | undefined> {
    return azureCall(`get ${label(ref)}`, () =>
      identities(ref.subscriptionId)
        .get(ref.resourceGroup, ref.name)
        .catch((e: unknown) => {
          const groupGone = (e as { code?: string }).code === 'ResourceGroupNotFound';
          if (isNotFound(e) && (groupMayBeGone || !groupGone)) return undefined;
          throw e;
        }),
    );
  }

  /** Replaces the identity's tags, nothing else (PATCH). */
  const retag = (ref: AzureResourceRef, tags: Record<string, string>) =>
    azureCall(`tag ${label(ref)}`, () => identities(ref.subscriptionId).update(ref.resourceGroup, ref.name, { tags }));

  async function ensureManagedIdentity(input: EnsureManagedIdentityInput): Promise<ManagedIdentityResult> {
    const owner = ownerOf(input);
    const existing = await find(input);
    if (existing) {
      const claimed = claimExisting('managedIdentity', label(input), existing.tags, owner);
      const current = claimed.tags ? await retag(input, claimed.tags) : existing;
      return toResult(current, false, claimed.adopted);
    }
    const created = await azureCall(`create ${label(input)}`, () =>
      identities(input.subscriptionId).createOrUpdate(input.resourceGroup, input.name, {
        location: input.location,
        tags: createdTags(owner),
      }),
    );
    return toResult(created, true, false);
  }

  /**
   * Removal by ownership: an identity of this product that no other binding uses is deleted; one others use (or
   * one that was adopted) only loses this binding's tags; a foreign one is left as it is. Azure deletes an identity
   * a scale set still names and leaves the reference dangling (the scale set's next update then fails), so before
   * a delete, with `detachFrom`, it is detached from every scale set of the cluster that has it.
   */
  async function deleteManagedIdentity(
    input: DeleteManagedIdentityInput,
  ): Promise<{ deleted: boolean; detachedFrom?: string[]; kept?: string }> {
    const owner = ownerOf(input);
    const found = await find(input, true);
    const none = input.detachFrom ? { detachedFrom: [] } : {};
    if (!found) return { deleted: false, ...none };
    const r = removalOf(label(input), found.tags, owner.binding);
    if (r.action === 'foreign') return { deleted: false, ...none, kept: r.reason };
    if (r.action === 'release') {
      if (r.tags) await retag(input, r.tags);
      return { deleted: false, ...none, kept: r.reason };
    }
    const detachedFrom = input.detachFrom
      ? await detachFromScaleSets(
          clients,
          input.detachFrom.subscriptionId,
          input.detachFrom.nodeResourceGroup,
          String(found.id),
        )
      : undefined;
    await azureCall(`delete ${label(input)}`, () =>
      identities(input.subscriptionId).delete(input.resourceGroup, input.name),
    );
    return { deleted: true, ...(detachedFrom ? { detachedFrom } : {}) };
  }

  return { ensureManagedIdentity, deleteManagedIdentity };
}
