/**
 * Microsoft.Authorization/roleAssignments at any scope: PUT, GET, DELETE and list with ARM's `$filter`
 * (`atScope()`, `assignedTo('id')`, `principalId eq 'id'`). Enough of the built-in Key Vault roles for the data
 * plane to decide who may read or write secrets in an RBAC vault.
 */
import { armError, json } from './arm-http.js';
import { scopeError, type Ctx, type Route } from './context.js';
import { get, key, put, type Resource } from './world.js';

const NS = 'Microsoft.Authorization';
const TYPE = 'Microsoft.Authorization/roleAssignments';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Built-in roles by GUID, with the secret operations each allows on the vault data plane. */
export const BUILT_IN_ROLES: Record<string, { name: string; secrets: string[] }> = {
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': {
    name: 'Key Vault Administrator',
    secrets: ['get', 'list', 'set', 'delete', 'recover', 'purge'],
  },
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': {
    name: 'Key Vault Secrets Officer',
    secrets: ['get', 'list', 'set', 'delete', 'recover', 'purge'],
  },
  '4633458b-17de-408a-b874-0445c86b69e6': { name: 'Key Vault Secrets User', secrets: ['get'] },
  '21090545-7ca7-4776-b22c-e363652d74d2': { name: 'Key Vault Reader', secrets: [] },
  'acdd72a7-3385-48ef-bd42-f606fba81ae7': { name: 'Reader', secrets: [] },
  'b24988ac-6180-42a0-ab88-20f7382dd24c': { name: 'Contributor', secrets: [] },
};

interface AssignmentProps {
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  scope: string;
}

export const roleGuid = (roleDefinitionId: string) => roleDefinitionId.split('/').pop()?.toLowerCase() ?? '';

/** Scope `a` covers `b` when b is a or lies below it. */
export const covers = (a: string, b: string) => key(b) === key(a) || key(b).startsWith(`${key(a)}/`);

export function assignments(ctx: Pick<Ctx, 'world'>): Resource[] {
  return [...ctx.world.resources.values()].filter((r) => r.type === TYPE);
}

const SCOPED =
  /^(\/subscriptions\/([^/]+)(?:\/.*)?)\/providers\/Microsoft\.Authorization\/roleAssignments(?:\/([^/]+))?$/i;

function scopeCheck(ctx: Ctx, scope: string, sub: string) {
  const err = scopeError(ctx, sub);
  if (err) return err;
  if (/\/providers\//i.test(scope) && !get(ctx.world, scope)) {
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
      if (same) return armError(409, 'RoleAssignmentExists', 'The role assignment already exists.');
      if (get(ctx.world, id))
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
