/**
 * Giving a principal rights on a vault's secrets, idempotently, in either of Key Vault's access models: an access
 * policy (read the vault's policies first; `add` merges) or a role assignment at the vault scope (list first;
 * a 409 RoleAssignmentExists from a lost earlier answer means done).
 */
import type { Vault } from '@azure/arm-keyvault';
import { createHash } from 'node:crypto';
import type { AzureClients } from './clients.js';
import { azureCall, azureFailure, codeOf } from './errors.js';
import type { AzureResourceRef } from '../../contract/activities.js';

export const ROLE = {
  /** Read secret contents: what the node plugin needs. */
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  /** Manage secrets: what the worker needs to write the gMSA user's secret. */
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
} as const;

/** A stable GUID per (scope, role, principal), so a retried create names the same assignment. */
export function assignmentName(scope: string, role: string, principalId: string): string {
  const h = createHash('sha256').update(`${scope.toLowerCase()}|${role}|${principalId.toLowerCase()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** True when the vault's policies already give `objectId` every one of `permissions` on secrets. */
export function policyGrants(vault: Vault, objectId: string, permissions: string[]): boolean {
  const entries = (vault.properties.accessPolicies ?? []).filter(
    (p) => p.objectId.toLowerCase() === objectId.toLowerCase(),
  );
  const have = new Set(entries.flatMap((p) => (p.permissions.secrets ?? []).map((s) => s.toLowerCase())));
  return have.has('all') || permissions.every((p) => have.has(p));
}

/** Adds an access policy unless the vault has it; true when it changed the vault. */
export async function ensureAccessPolicy(
  clients: AzureClients,
  ref: AzureResourceRef,
  vault: Vault,
  objectId: string,
  permissions: string[],
): Promise<boolean> {
  if (policyGrants(vault, objectId, permissions)) return false;
  const tenantId = vault.properties.tenantId;
  await azureCall(`add access policy for ${objectId} on vault ${ref.name}`, () =>
    clients.keyVault(ref.subscriptionId).vaults.updateAccessPolicy(ref.resourceGroup, ref.name, 'add', {
      properties: { accessPolicies: [{ tenantId, objectId, permissions: { secrets: permissions as never[] } }] },
    }),
  );
  return true;
}

/** Assigns `role` to the principal at `scope` unless an assignment at or above it exists; true when created. */
export async function ensureRoleAssignment(
  clients: AzureClients,
  subscriptionId: string,
  scope: string,
  principalId: string,
  role: string,
  principalType: 'ServicePrincipal' | 'User' = 'ServicePrincipal',
): Promise<boolean> {
  const authz = clients.authorization(subscriptionId).roleAssignments;
  const existing = await azureCall(`list role assignments of ${principalId} on ${scope}`, async () => {
    for await (const a of authz.listForScope(scope, { filter: `assignedTo('${principalId}')` })) {
      if (
        a.roleDefinitionId?.toLowerCase().endsWith(`/${role}`) &&
        a.principalId?.toLowerCase() === principalId.toLowerCase()
      ) {
        return true;
      }
    }
    return false;
  });
  if (existing) return false;
  try {
    await authz.create(scope, assignmentName(scope, role, principalId), {
      roleDefinitionId: `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
      principalId,
      // Set explicitly: a just-created identity is not yet replicated, and ARM then needs the type to accept it.
      principalType,
    });
    return true;
  } catch (e) {
    if (codeOf(e) === 'RoleAssignmentExists') return false;
    throw azureFailure(e, `assign role ${role} to ${principalId} on ${scope}`);
  }
}
