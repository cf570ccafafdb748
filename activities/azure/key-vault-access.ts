/**
 * Windows hosts' access to the secret (Grant-AkvAccessToAksWindowsHosts). With hostIdentity managedIdentity the
 * identity is appended to each Windows pool's scale set, keeping the identities already there (the kubelet's and
 * any other), unless the caller says `attachToScaleSets: false` (the scale sets' coordinators attach it, see
 * scale-set-identities.ts); with kubeletIdentity no scale set changes. Then the principal gets read on the secret:
 * on an RBAC vault the "Key Vault Secrets User" role scoped to the one secret, marked as this binding's; on an
 * access-policy vault (which cannot scope) `get` on every secret, recorded in a vault tag when this product added
 * it. The removals take back only what those marks say this product gave.
 */
import type { VirtualMachineScaleSet } from '@azure/arm-compute';
import type { AzureClients } from './clients.js';
import { azureCall, isNotFound } from './errors.js';
import {
  detachKept,
  IDENTITY_ID,
  identityChange,
  listScaleSets,
  patchIdentity,
  poolScaleSet,
} from './scale-set-identities.js';
import { accessRecordOf, otherAccessRecords, withAccessRecord } from './tags.js';
import {
  ensureAccessPolicy,
  ensureRoleAssignment,
  missingPermissions,
  patchVaultTags,
  removeAccessPolicy,
  revokeRoleAssignments,
  ROLE,
} from './vault-access.js';
import { ownerOf } from '../owner.js';
import { AZURE_TAG_LIMITS, ownershipFromTags } from '../../domain/ownership.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import type {
  ClusterRef,
  GrantKeyVaultAccessInput,
  GrantKeyVaultAccessResult,
  RemoveScaleSetIdentityInput,
  RevokeKeyVaultAccessInput,
} from '../../contract/activities.js';

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
  const all = await listScaleSets(clients, subscriptionId, nodeResourceGroup);
  const changed: string[] = [];
  for (const vmss of all) {
    const identity = identityChange(vmss.identity, { remove: [identityId] });
    if (!identity) continue;
    await patchIdentity(clients, subscriptionId, nodeResourceGroup, String(vmss.name), identity);
    changed.push(String(vmss.name));
  }
  return changed;
}

export function createKeyVaultAccessActivities(clients: AzureClients) {
  /** The scale set of each named Windows pool (scale-set-identities.ts: by AKS's pool tag, else its name). */
  async function windowsScaleSets(cluster: ClusterRef, nodeResourceGroup: string): Promise<VirtualMachineScaleSet[]> {
    const all = await listScaleSets(clients, cluster.subscriptionId, nodeResourceGroup);
    return cluster.windowsNodePools.map((pool) => poolScaleSet(all, pool, nodeResourceGroup));
  }

  async function grantKeyVaultAccess(input: GrantKeyVaultAccessInput): Promise<GrantKeyVaultAccessResult> {
    const { cluster, nodeResourceGroup, vault, managedIdentity } = input;
    const owner = ownerOf(input);
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
    // attachToScaleSets false: the scale sets' coordinators attach the identity (scale-set-identities.ts).
    if (managedIdentity && input.hostIdentity === 'managedIdentity' && input.attachToScaleSets !== false) {
      for (const vmss of await windowsScaleSets(cluster, nodeResourceGroup)) {
        const identity = identityChange(vmss.identity, { add: [managedIdentity.id] });
        if (!identity) continue;
        await patchIdentity(clients, cluster.subscriptionId, nodeResourceGroup, String(vmss.name), identity);
        scaleSetsUpdated.push(String(vmss.name));
      }
    }
    if (rbacVault) {
      // Least privilege: the one secret when it is named (runs before ownership name none: the vault).
      const scope = input.secretName ? `${vault.id}/secrets/${input.secretName}` : vault.id;
      await ensureRoleAssignment(clients, vault.subscriptionId, {
        scope,
        principalId,
        role: ROLE.keyVaultSecretsUser,
        alsoEnough: [ROLE.keyVaultSecretsOfficer, ROLE.keyVaultAdministrator],
        binding: owner.binding,
      });
      return {
        principalId,
        scaleSetsUpdated,
        access: 'roleAssignment',
        scope: input.secretName ? 'secret' : 'vault',
      };
    }
    // An access policy cannot name a secret: `get` covers the whole vault. What this product adds (or shares
    // with another binding that added it) is recorded on the vault before the grant, so a revoke finds it even
    // when this attempt dies before it reports.
    const ours =
      missingPermissions(current, principalId, ['get']).length > 0 ||
      otherAccessRecords(current.tags, principalId, owner.binding).length > 0;
    const recorded = accessRecordOf(current.tags, owner.binding) === principalId.toLowerCase();
    if (ours && !recorded && ownershipFromTags(current.tags)) {
      const tags = withAccessRecord(current.tags, owner.binding, principalId);
      const count = Object.keys(tags).length;
      if (count > AZURE_TAG_LIMITS.perResource) {
        throw fatal(
          ErrorType.PreconditionFailed,
          `vault ${vault.name} would carry ${count} tags, more than Azure's ${AZURE_TAG_LIMITS.perResource}: an access-policy vault records in its tags the principal each binding was given (about 180 bindings with identities of their own, 400 sharing one), so it holds no more; nothing was changed. Use options.keyVaultAccess "rbac" (each grant is a role assignment that records itself) or another vault`,
        );
      }
      await patchVaultTags(clients, vault, tags);
    }
    await ensureAccessPolicy(clients, vault, current, principalId, ['get']);
    return { principalId, scaleSetsUpdated, access: 'accessPolicy', scope: 'vault' };
  }

  /**
   * Removal: takes back the read this binding gave `principalId`. Role assignments with this binding's marker on
   * the secret or the vault are deleted (or, when another binding uses one too, lose this binding from the
   * marker); an access policy entry goes only when the vault's tags record that this binding added it and no other
   * binding's record names the same principal. Anything else (a foreign grant, a vault not there) is left alone.
   */
  async function revokeKeyVaultAccess(
    input: RevokeKeyVaultAccessInput,
  ): Promise<{ revoked: string[]; kept: string[] }> {
    const owner = ownerOf(input);
    const { vault, principalId } = input;
    const found = await azureCall(`get key vault ${vault.resourceGroup}/${vault.name}`, () =>
      clients
        .keyVault(vault.subscriptionId)
        .vaults.get(vault.resourceGroup, vault.name)
        .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e))),
    );
    if (!found) return { revoked: [], kept: [] };
    const revoked: string[] = [];
    const kept: string[] = [];
    const vaultId = String(found.id);
    for (const scope of [...(input.secretName ? [`${vaultId}/secrets/${input.secretName}`] : []), vaultId]) {
      const r = await revokeRoleAssignments(clients, vault.subscriptionId, scope, principalId, owner.binding);
      revoked.push(...r.revoked);
      kept.push(...r.kept);
    }
    const policy = `access policy of ${principalId} on vault ${vault.name}`;
    if (accessRecordOf(found.tags, owner.binding) === principalId.toLowerCase()) {
      if (otherAccessRecords(found.tags, principalId, owner.binding).length === 0) {
        await removeAccessPolicy(clients, vault, found, principalId, ['get']);
        revoked.push(policy);
      } else {
        kept.push(`${policy}: another binding relies on it`);
      }
      await patchVaultTags(clients, vault, withAccessRecord(found.tags, owner.binding, undefined));
    } else if (missingPermissions(found, principalId, ['get']).length === 0) {
      kept.push(`${policy}: not recorded as added by this binding`);
    }
    return { revoked, kept };
  }

  /**
   * Removal: detaches the identity from each Windows pool's scale set, keeping every other identity, but only an
   * identity of this product that no other binding still uses (a foreign or shared one stays attached).
   */
  async function removeScaleSetIdentity(
    input: RemoveScaleSetIdentityInput,
  ): Promise<{ scaleSetsUpdated: string[]; kept?: string }> {
    const owner = ownerOf(input);
    if (!IDENTITY_ID.test(input.identityId)) {
      throw fatal(ErrorType.InvalidInput, `not a user-assigned identity id: ${input.identityId}`);
    }
    const kept = await detachKept(clients, input.identityId, [owner.binding]);
    if (kept) return { scaleSetsUpdated: [], kept };
    const scaleSetsUpdated: string[] = [];
    for (const vmss of await windowsScaleSets(input.cluster, input.nodeResourceGroup)) {
      const identity = identityChange(vmss.identity, { remove: [input.identityId] });
      if (!identity) continue;
      await patchIdentity(clients, input.cluster.subscriptionId, input.nodeResourceGroup, String(vmss.name), identity);
      scaleSetsUpdated.push(String(vmss.name));
    }
    return { scaleSetsUpdated };
  }

  return { grantKeyVaultAccess, revokeKeyVaultAccess, removeScaleSetIdentity };
}
