/**
 * Giving a principal rights on a vault's secrets, and taking back what this product gave, idempotently, in either
 * of Key Vault's access models: an access policy (read the vault's policies first; `add` merges, `remove`
 * subtracts) or a role assignment at a scope (the vault, or one secret: list first; a 409 RoleAssignmentExists
 * from a lost earlier answer means done). Role assignments this product makes carry its marker in `description`
 * (tags.ts), so a removal deletes only those.
 */
import type { RoleAssignment } from '@azure/arm-authorization';
import type { Vault } from '@azure/arm-keyvault';
import { createHash } from 'node:crypto';
import type { AzureClients } from './clients.js';
import { azureCall, azureFailure, codeOf, isNotFound } from './errors.js';
import { assignmentOwnership, claimedAssignmentDescription, createdAssignmentDescription } from './tags.js';
import { formatAdMarker, release, usedBy } from '../../domain/ownership.js';
import type { AzureResourceRef } from '../../contract/activities.js';

export const ROLE = {
  /** Read secret contents: what the node plugin needs. */
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  /** Manage secrets: what the worker needs to write the gMSA user's secret. */
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  /** Everything on the data plane: covers what the Secrets Officer role gives. */
  keyVaultAdministrator: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
} as const;

/** A stable GUID per (scope, role, principal), so a retried create names the same assignment. */
export function assignmentName(scope: string, role: string, principalId: string): string {
  const h = createHash('sha256').update(`${scope.toLowerCase()}|${role}|${principalId.toLowerCase()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const same = (a: string | undefined, b: string) =>
  (a ?? '').toLowerCase().replace(/\/+$/, '') === b.toLowerCase().replace(/\/+$/, '');
/** Scope `a` covers `b` when b is a or lies below it. */
const covers = (a: string | undefined, b: string) =>
  same(a, b) || b.toLowerCase().startsWith(`${(a ?? '').toLowerCase().replace(/\/+$/, '')}/`);
const roleOf = (a: RoleAssignment) => String(a.roleDefinitionId).split('/').pop()?.toLowerCase() ?? '';

/** The secret permissions an access policy gives `objectId` already, and which of `permissions` it lacks. */
export function missingPermissions(vault: Vault, objectId: string, permissions: string[]): string[] {
  const entries = (vault.properties.accessPolicies ?? []).filter(
    (p) => p.objectId.toLowerCase() === objectId.toLowerCase(),
  );
  const have = new Set(entries.flatMap((p) => (p.permissions.secrets ?? []).map((s) => s.toLowerCase())));
  return have.has('all') ? [] : permissions.filter((p) => !have.has(p));
}

/** True when the vault's policies already give `objectId` every one of `permissions` on secrets. */
export const policyGrants = (vault: Vault, objectId: string, permissions: string[]) =>
  missingPermissions(vault, objectId, permissions).length === 0;

/** Adds what the principal's access policy lacks of `permissions`; returns what it added (empty: no write). */
export async function ensureAccessPolicy(
  clients: AzureClients,
  ref: AzureResourceRef,
  vault: Vault,
  objectId: string,
  permissions: string[],
): Promise<string[]> {
  const missing = missingPermissions(vault, objectId, permissions);
  if (missing.length === 0) return [];
  await updatePolicy(clients, ref, vault, 'add', objectId, missing);
  return missing;
}

/** Takes `permissions` off the principal's entry (Key Vault drops an entry left with none). */
export async function removeAccessPolicy(
  clients: AzureClients,
  ref: AzureResourceRef,
  vault: Vault,
  objectId: string,
  permissions: string[],
): Promise<void> {
  const entry = (vault.properties.accessPolicies ?? []).find(
    (p) => p.objectId.toLowerCase() === objectId.toLowerCase(),
  );
  if (!entry) return;
  await updatePolicy(clients, ref, vault, 'remove', entry.objectId, permissions);
}

async function updatePolicy(
  clients: AzureClients,
  ref: AzureResourceRef,
  vault: Vault,
  kind: 'add' | 'remove',
  objectId: string,
  permissions: string[],
) {
  const tenantId = vault.properties.tenantId;
  await azureCall(`${kind} access policy for ${objectId} on vault ${ref.name}`, () =>
    clients.keyVault(ref.subscriptionId).vaults.updateAccessPolicy(ref.resourceGroup, ref.name, kind, {
      properties: { accessPolicies: [{ tenantId, objectId, permissions: { secrets: permissions as never[] } }] },
    }),
  );
}

/** Replaces a vault's tags, nothing else (a PATCH naming no properties leaves them as they are). */
export async function patchVaultTags(clients: AzureClients, ref: AzureResourceRef, tags: Record<string, string>) {
  return azureCall(`tag key vault ${ref.resourceGroup}/${ref.name}`, () =>
    clients.keyVault(ref.subscriptionId).vaults.update(ref.resourceGroup, ref.name, { tags }),
  );
}

async function assignmentsOf(clients: AzureClients, subscriptionId: string, scope: string, principalId: string) {
  return azureCall(`list role assignments of ${principalId} on ${scope}`, async () => {
    const out: RoleAssignment[] = [];
    const authz = clients.authorization(subscriptionId).roleAssignments;
    for await (const a of authz.listForScope(scope, { filter: `assignedTo('${principalId}')` })) {
      if (a.principalId?.toLowerCase() === principalId.toLowerCase()) out.push(a);
    }
    return out;
  });
}

export interface RoleGrant {
  scope: string;
  principalId: string;
  role: string;
  /** Roles that give at least what `role` does: an assignment of one of them at or above the scope is enough. */
  alsoEnough?: string[];
  principalType?: 'ServicePrincipal' | 'User';
  /** The binding whose marker a new assignment carries, and that claims one of ours. */
  binding: string;
}

/**
 * Assigns the role at the scope unless an assignment at or above it gives as much. `created`: a new one, marked;
 * `claimed`: ours, this binding added to its marker; `exists`: enough was there (anyone's), nothing written.
 */
export async function ensureRoleAssignment(
  clients: AzureClients,
  subscriptionId: string,
  g: RoleGrant,
): Promise<'created' | 'claimed' | 'exists'> {
  const authz = clients.authorization(subscriptionId).roleAssignments;
  const roles = [g.role, ...(g.alsoEnough ?? [])];
  const found = (await assignmentsOf(clients, subscriptionId, g.scope, g.principalId)).filter(
    (a) => roles.includes(roleOf(a)) && covers(a.scope, g.scope),
  );
  const exact = found.find((a) => same(a.scope, g.scope) && roleOf(a) === g.role && assignmentOwnership(a.description));
  const roleDefinitionId = `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${g.role}`;
  if (exact) {
    const description = claimedAssignmentDescription(exact.description, g.binding);
    if (!description) return 'exists';
    await azureCall(`mark role assignment ${exact.name} on ${g.scope}`, () =>
      authz.create(g.scope, String(exact.name), {
        roleDefinitionId,
        principalId: g.principalId,
        principalType: exact.principalType ?? g.principalType ?? 'ServicePrincipal',
        description,
      }),
    );
    return 'claimed';
  }
  if (found.length > 0) return 'exists';
  try {
    await authz.create(g.scope, assignmentName(g.scope, g.role, g.principalId), {
      roleDefinitionId,
      principalId: g.principalId,
      // Set explicitly: a just-created identity is not yet replicated, and ARM then needs the type to accept it.
      principalType: g.principalType ?? 'ServicePrincipal',
      description: createdAssignmentDescription(g.binding),
    });
    return 'created';
  } catch (e) {
    if (codeOf(e) === 'RoleAssignmentExists') return 'exists';
    throw azureFailure(e, `assign role ${g.role} to ${g.principalId} on ${g.scope}`);
  }
}

/**
 * Takes back this binding's role assignments of `principalId` made exactly at `scope`: one no other binding uses
 * is deleted, one others use loses this binding from its marker; an assignment without the marker is never
 * touched. `anyBinding`: delete every marked one whoever made it (the worker's own, when its vault is let go).
 */
export async function revokeRoleAssignments(
  clients: AzureClients,
  subscriptionId: string,
  scope: string,
  principalId: string,
  binding: string,
  anyBinding = false,
): Promise<{ revoked: string[]; kept: string[] }> {
  const authz = clients.authorization(subscriptionId).roleAssignments;
  const revoked: string[] = [];
  const kept: string[] = [];
  let found: RoleAssignment[];
  try {
    found = await assignmentsOf(clients, subscriptionId, scope, principalId);
  } catch (e) {
    // The scope is gone (its vault deleted): nothing of it is left to revoke.
    if ((e as { type?: string }).type === 'NotFound' || isNotFound(e)) return { revoked, kept };
    throw e;
  }
  for (const a of found.filter((x) => same(x.scope, scope))) {
    const what = `role assignment ${a.name} (${roleOf(a)}) of ${principalId} on ${scope}`;
    const marker = assignmentOwnership(a.description);
    const r = anyBinding && marker ? ({ action: 'delete' } as const) : release(marker, binding);
    if (r.action === 'foreign') {
      kept.push(`${what}: not marked as aks-gmsa's`);
    } else if (r.action === 'delete') {
      await azureCall(`delete ${what}`, () => authz.delete(scope, String(a.name)));
      revoked.push(what);
    } else {
      if (usedBy(marker, binding)) {
        await azureCall(`unmark ${what}`, () =>
          authz.create(scope, String(a.name), {
            roleDefinitionId: String(a.roleDefinitionId),
            principalId,
            principalType: a.principalType ?? 'ServicePrincipal',
            description: formatAdMarker(r.next),
          }),
        );
      }
      kept.push(`${what}: still used by ${r.next.uses.length} other binding(s)`);
    }
  }
  return { revoked, kept };
}
