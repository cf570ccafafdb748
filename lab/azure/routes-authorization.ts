/**
 * Microsoft.Authorization/roleAssignments at any scope: PUT (create, or update the description of the same
 * assignment), GET, DELETE and list with ARM's `$filter`
 * (`atScope()`, `assignedTo('id')`, `principalId eq 'id'`). A scope is the subscription, a resource group, a
 * resource, or one secret of a vault (`…/vaults/{v}/secrets/{s}`: "Provide access to Key Vault keys, certificates,
 * and secrets with Azure role-based access control", section "Secret scope role assignment").
 *
 * The built-in roles the lab uses carry their control-plane actions (`permits`, for the ARM authorization checks of
 * routes-compute.ts) and the secret operations each allows on the vault data plane (vault-data-plane.ts).
 */
import { armError, json, type Reply } from './arm-http.js';
import { scopeError, type Ctx, type Route } from './context.js';
import { get, key, put, rgKey, type Resource, type World } from './world.js';

const NS = 'Microsoft.Authorization';
const TYPE = 'Microsoft.Authorization/roleAssignments';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface BuiltInRole {
  name: string;
  /** Secret operations on an RBAC vault's data plane (the role's dataActions, by Key Vault permission name). */
  secrets: string[];
  /** Control-plane actions and notActions, as in the role definition (wildcards `*` allowed). */
  actions: string[];
  notActions?: string[];
}

const READ_SUPPORT = [
  'Microsoft.Authorization/*/read',
  'Microsoft.Insights/alertRules/*',
  'Microsoft.Resources/deployments/*',
  'Microsoft.Resources/subscriptions/resourceGroups/read',
  'Microsoft.Support/*',
];
const KEY_VAULT_READ = [
  ...READ_SUPPORT,
  'Microsoft.KeyVault/checkNameAvailability/read',
  'Microsoft.KeyVault/deletedVaults/read',
  'Microsoft.KeyVault/locations/*/read',
  'Microsoft.KeyVault/vaults/*/read',
  'Microsoft.KeyVault/operations/read',
];

/**
 * Built-in roles by GUID, with the actions of their definitions in "Azure built-in roles" (Microsoft Learn); a
 * subset of the actions where the role has many (Virtual Machine Contributor: its Compute and read ones).
 */
export const BUILT_IN_ROLES: Record<string, BuiltInRole> = {
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': {
    name: 'Key Vault Administrator',
    secrets: ['get', 'list', 'set', 'delete', 'recover', 'purge'],
    actions: KEY_VAULT_READ,
  },
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': {
    name: 'Key Vault Secrets Officer',
    secrets: ['get', 'list', 'set', 'delete', 'recover', 'purge'],
    actions: KEY_VAULT_READ,
  },
  '4633458b-17de-408a-b874-0445c86b69e6': { name: 'Key Vault Secrets User', secrets: ['get'], actions: [] },
  '21090545-7ca7-4776-b22c-e363652d74d2': { name: 'Key Vault Reader', secrets: [], actions: KEY_VAULT_READ },
  'acdd72a7-3385-48ef-bd42-f606fba81ae7': { name: 'Reader', secrets: [], actions: ['*/read'] },
  'b24988ac-6180-42a0-ab88-20f7382dd24c': {
    name: 'Contributor',
    secrets: [],
    actions: ['*'],
    notActions: [
      'Microsoft.Authorization/*/Delete',
      'Microsoft.Authorization/*/Write',
      'Microsoft.Authorization/elevateAccess/Action',
      'Microsoft.Blueprint/blueprintAssignments/write',
      'Microsoft.Blueprint/blueprintAssignments/delete',
      'Microsoft.Compute/galleries/share/action',
      'Microsoft.Purview/consents/write',
      'Microsoft.Purview/consents/delete',
      'Microsoft.Resources/deploymentStacks/manageDenySetting/action',
      'Microsoft.Subscription/cancel/action',
      'Microsoft.Subscription/enable/action',
    ],
  },
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': { name: 'Owner', secrets: [], actions: ['*'] },
  'f1a07417-d97a-45cb-824c-7a7467783830': {
    name: 'Managed Identity Operator',
    secrets: [],
    actions: [
      'Microsoft.ManagedIdentity/userAssignedIdentities/*/read',
      'Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action',
      ...READ_SUPPORT,
    ],
  },
  'e40ec5ca-96e0-45a2-b4ff-59039f2c2b59': {
    name: 'Managed Identity Contributor',
    secrets: [],
    actions: [
      'Microsoft.ManagedIdentity/userAssignedIdentities/read',
      'Microsoft.ManagedIdentity/userAssignedIdentities/write',
      'Microsoft.ManagedIdentity/userAssignedIdentities/delete',
      ...READ_SUPPORT,
    ],
  },
  '9980e02c-c2be-4d73-94e8-173b1dc7cf3c': {
    name: 'Virtual Machine Contributor',
    secrets: [],
    actions: [
      'Microsoft.Compute/availabilitySets/*',
      'Microsoft.Compute/locations/*',
      'Microsoft.Compute/virtualMachines/*',
      'Microsoft.Compute/virtualMachineScaleSets/*',
      'Microsoft.Compute/disks/read',
      'Microsoft.Compute/disks/write',
      ...READ_SUPPORT,
    ],
  },
};

interface AssignmentProps {
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  scope: string;
  description?: string;
}

export const roleGuid = (roleDefinitionId: string) => roleDefinitionId.split('/').pop()?.toLowerCase() ?? '';

/** Scope `a` covers `b` when b is a or lies below it. */
export const covers = (a: string, b: string) => key(b) === key(a) || key(b).startsWith(`${key(a)}/`);

export function assignments(ctx: Pick<Ctx, 'world'>): Resource[] {
  return [...ctx.world.resources.values()].filter((r) => r.type === TYPE);
}

/**
 * An action pattern as a regular expression ("Understand Azure role definitions", section "Actions"): `*` matches
 * any characters, and a `*` segment between two slashes may also match nothing, so the Managed Identity Operator's
 * `userAssignedIdentities/{*}/assign/action` grants `userAssignedIdentities/assign/action`. Case-insensitive.
 */
const actionPattern = (p: string) =>
  new RegExp(
    `^${p
      .split('/*/')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*'))
      .join('(?:/.*)?/')}$`,
    'i',
  );

/** True when a role assignment of `principalId` at or above `scope` grants `action` (actions minus notActions). */
export function permits(world: World, principalId: string, action: string, scope: string): boolean {
  return assignments({ world }).some((a) => {
    const q = a.properties as AssignmentProps;
    const role = BUILT_IN_ROLES[roleGuid(q.roleDefinitionId)];
    if (!role || q.principalId.toLowerCase() !== principalId.toLowerCase() || !covers(q.scope, scope)) return false;
    const allowed = role.actions.some((p) => actionPattern(p).test(action));
    return allowed && !(role.notActions ?? []).some((p) => actionPattern(p).test(action));
  });
}

const SCOPED =
  /^(\/subscriptions\/([^/]+)(?:\/.*)?)\/providers\/Microsoft\.Authorization\/roleAssignments(?:\/([^/]+))?$/i;

const SECRET_SCOPE = /^(.*\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+)\/secrets\/[^/]+$/i;
const RG_SCOPE = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)(?:\/|$)/i;

/** ARM's 404s for a scope that is not there: subscription, resource group, resource (a secret: its vault). */
function scopeCheck(ctx: Ctx, scope: string, sub: string): Reply | undefined {
  const err = scopeError(ctx, sub);
  if (err) return err;
  const rg = RG_SCOPE.exec(scope);
  if (rg && !ctx.world.resourceGroups.has(rgKey(rg[1] as string, rg[2] as string))) {
    return armError(404, 'ResourceGroupNotFound', `Resource group '${rg[2]}' could not be found.`);
  }
  // A secret is a child resource of its vault (Microsoft.KeyVault/vaults/secrets); the fake keeps secrets on the
  // data plane, so the vault stands for it here.
  const resource = SECRET_SCOPE.exec(scope)?.[1] ?? scope;
  if (/\/providers\//i.test(resource) && !get(ctx.world, resource)) {
    return armError(404, 'ResourceNotFound', `The Resource '${scope}' was not found.`);
  }
  return undefined;
}

export const authorizationRoutes: Route[] = [
  {
    method: 'PUT',
    pattern: SCOPED,
    op: 'PUT roleAssignments',
    provider: NS,
    handle(ctx, m) {
      const [, scope, sub, name] = m as unknown as [string, string, string, string | undefined];
      if (!name) return armError(405, 'MethodNotAllowed', 'PUT needs a role assignment name.');
      const err = scopeCheck(ctx, scope, sub);
      if (err) return err;
      if (!GUID.test(name))
        return armError(
          400,
          'InvalidRoleAssignmentId',
          `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
        );
      const p = ((ctx.req.body ?? {}) as { properties?: Partial<AssignmentProps> }).properties ?? {};
      const role = roleGuid(p.roleDefinitionId ?? '');
      if (!BUILT_IN_ROLES[role]) {
        return armError(
          400,
          'RoleDefinitionDoesNotExist',
          `The specified role definition with ID '${role}' does not exist.`,
        );
      }
      const principal = String(p.principalId ?? '').toLowerCase();
      if (!ctx.world.principals.has(principal)) {
        return armError(
          400,
          'PrincipalNotFound',
          `Principal ${principal.replace(/-/g, '')} does not exist in the directory ${ctx.world.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
        );
      }
      const id = `${scope}/providers/${TYPE}/${name}`;
      const same = assignments(ctx).find((r) => {
        const q = r.properties as AssignmentProps;
        return (
          key(q.scope) === key(scope) &&
          roleGuid(q.roleDefinitionId) === role &&
          q.principalId.toLowerCase() === principal
        );
      });
      const current = get(ctx.world, id);
      // A PUT to an assignment's own name with its principal, role and scope unchanged updates what may change
      // (its description): "Role Assignments - Create: Create or update a role assignment by scope and name".
      if (same && current && key(same.id) === key(current.id)) {
        const q = current.properties as AssignmentProps & Record<string, unknown>;
        if (p.description !== undefined) q.description = p.description;
        q.updatedOn = new Date().toISOString();
        q.updatedBy = ctx.req.caller?.oid;
        return json(200, current);
      }
      if (same) return armError(409, 'RoleAssignmentExists', 'The role assignment already exists.');
      if (current)
        return armError(
          409,
          'RoleAssignmentUpdateNotPermitted',
          'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.',
        );
      const assignment: Resource = {
        id,
        name,
        type: TYPE,
        properties: {
          roleDefinitionId: `/subscriptions/${sub}/providers/${NS}/roleDefinitions/${role}`,
          principalId: principal,
          principalType: p.principalType ?? 'ServicePrincipal',
          scope,
          ...(p.description !== undefined ? { description: p.description } : {}),
          createdOn: new Date().toISOString(),
          createdBy: ctx.req.caller?.oid,
        },
      };
      put(ctx.world, assignment);
      return json(201, assignment);
    },
  },
  {
    method: 'GET',
    pattern: SCOPED,
    op: 'GET roleAssignments',
    provider: NS,
    handle(ctx, m) {
      const [, scope, sub, name] = m as unknown as [string, string, string, string | undefined];
      const err = scopeCheck(ctx, scope, sub);
      if (err) return err;
      if (name) {
        const one = get(ctx.world, `${scope}/providers/${TYPE}/${name}`);
        return one
          ? json(200, one)
          : armError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`);
      }
      const filter = ctx.req.query.get('$filter') ?? '';
      const atScope = /atScope\(\)/i.test(filter);
      const who = /(?:assignedTo\('|principalId eq ')([^']+)'/i.exec(filter)?.[1]?.toLowerCase();
      const value = assignments(ctx).filter((r) => {
        const q = r.properties as AssignmentProps;
        const inScope = atScope ? covers(q.scope, scope) : covers(q.scope, scope) || covers(scope, q.scope);
        return inScope && (!who || q.principalId.toLowerCase() === who);
      });
      return json(200, { value });
    },
  },
  {
    method: 'DELETE',
    pattern: SCOPED,
    op: 'DELETE roleAssignments',
    provider: NS,
    handle(ctx, m) {
      const [, scope, sub, name] = m as unknown as [string, string, string, string | undefined];
      const err = scopeError(ctx, sub);
      if (err || !name) return err ?? armError(405, 'MethodNotAllowed', 'DELETE needs a role assignment name.');
      const id = `${scope}/providers/${TYPE}/${name}`;
      const one = get(ctx.world, id);
      if (!one) return json(204);
      ctx.world.resources.delete(key(id));
      return json(200, one);
    },
  },
];
