/**
 * Microsoft.KeyVault/vaults: PUT as a long-running operation, PATCH (Vaults_Update: tags replaced when given, only the
 * properties named changed), GET, DELETE (soft delete), access policies
 * add|replace|remove, deleted vaults (get, list, purge) and name checks. Vault names are global: a name held by
 * another resource group or by a soft-deleted vault is refused with Key Vault's own error.
 */
import { armError, json, notFound, type Reply } from './arm-http.js';
import { clone, rgPath, scopeError, type Ctx, type Route } from './context.js';
import { startLocationOperation } from './lro.js';
import { get, key, put, rgId, type Resource } from './world.js';

const NS = 'Microsoft.KeyVault';
const TYPE = 'Microsoft.KeyVault/vaults';
const VAULT = rgPath(NS, 'vaults/([^/]+)');
const NAME_RULE = /^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const SECRET_PERMISSIONS = ['all', 'get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge'];
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AccessPolicy {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  permissions: Partial<Record<'keys' | 'secrets' | 'certificates' | 'storage', string[]>>;
}

export interface VaultProps {
  tenantId: string;
  sku: { family: string; name: string };
  accessPolicies: AccessPolicy[];
  enableRbacAuthorization: boolean;
  enableSoftDelete: boolean;
  softDeleteRetentionInDays: number;
  vaultUri: string;
  provisioningState: string;
  privateEndpointConnections: unknown[];
  createMode?: string;
}

/** When each vault was last written (ms). */
const changedAt = new WeakMap<Resource, number>();

/**
 * Key Vault's optimistic concurrency on vault writes (an update, a PATCH, an access-policy change): one that began
 * (arrived) before another write to the same vault was applied fails with 409 ConflictError, Key Vault's own text
 * (quoted in scylladb/scylla-cluster-tests#13184), so parallel writers must serialise or retry. The latency knob is
 * how long a write is in flight; undefined: go ahead, and this write is now the vault's last change.
 */
function raced(ctx: Ctx, vault: Resource): Reply | undefined {
  if ((changedAt.get(vault) ?? 0) > ctx.req.receivedAt) {
    return armError(
      409,
      'ConflictError',
      `A conflict occurred that prevented the operation from completing. The operation failed because the Key Vault '${vault.name}' changed from the point the operation began. This can happen if parallel operations are being performed on the Key Vault. To prevent this error, serialize the operations so that only one operation is performed on the Key Vault at a time. Follow this link for more information: https://go.microsoft.com/fwlink/?linkid=2147741`,
    );
  }
  changedAt.set(vault, Date.now());
  return undefined;
}

/** The vault of this name anywhere in the fake (names are global). */
export function findVault(ctx: Ctx, name: string): Resource | undefined {
  for (const r of ctx.world.resources.values()) {
    if (r.type === TYPE && r.name.toLowerCase() === name.toLowerCase()) return r;
  }
  return undefined;
}

const samePrincipal = (a: AccessPolicy, b: AccessPolicy) =>
  a.tenantId.toLowerCase() === b.tenantId.toLowerCase() &&
  a.objectId.toLowerCase() === b.objectId.toLowerCase() &&
  (a.applicationId ?? '') === (b.applicationId ?? '');

/** Key Vault's access-policy arithmetic: add unions permissions, remove subtracts, replace overwrites. */
export function applyPolicies(current: AccessPolicy[], kind: string, changes: AccessPolicy[]): AccessPolicy[] {
  const result = clone(current);
  for (const change of changes) {
    const entry = result.find((p) => samePrincipal(p, change));
    if (kind === 'add' || kind === 'replace') {
      if (!entry) {
        result.push(clone(change));
        continue;
      }
      for (const [k, perms] of Object.entries(change.permissions)) {
        const kk = k as keyof AccessPolicy['permissions'];
        const lower = (perms ?? []).map((p) => p.toLowerCase());
        entry.permissions[kk] = kind === 'replace' ? lower : [...new Set([...(entry.permissions[kk] ?? []), ...lower])];
      }
    } else if (entry) {
      for (const [k, perms] of Object.entries(change.permissions)) {
        const kk = k as keyof AccessPolicy['permissions'];
        const drop = new Set((perms ?? []).map((p) => p.toLowerCase()));
        entry.permissions[kk] = (entry.permissions[kk] ?? []).filter((p) => !drop.has(p));
      }
      if (Object.values(entry.permissions).every((v) => !v || v.length === 0)) result.splice(result.indexOf(entry), 1);
    }
  }
  return result;
}

function validatePolicies(policies: unknown): Reply | undefined {
  if (!Array.isArray(policies)) return armError(400, 'BadRequest', 'properties.accessPolicies must be an array.');
  for (const p of policies as AccessPolicy[]) {
    if (!GUID.test(p.objectId ?? '') || !GUID.test(p.tenantId ?? '')) {
      return armError(
        400,
        'BadRequest',
        `Invalid ObjectId '${p.objectId}' or TenantId '${p.tenantId}' in access policy.`,
      );
    }
    const bad = (p.permissions?.secrets ?? []).find((s) => !SECRET_PERMISSIONS.includes(s.toLowerCase()));
    if (bad) return armError(400, 'BadRequest', `The permission '${bad}' is not valid for secrets.`);
  }
  return undefined;
}

async function putVault(ctx: Ctx, m: RegExpExecArray): Promise<Reply> {
  const [, sub, rg, name] = m as unknown as [string, string, string, string];
  const err = scopeError(ctx, sub, rg);
  if (err) return err;
  if (!NAME_RULE.test(name)) {
    return armError(
      400,
      'VaultNameNotValid',
      `The vault name '${name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.`,
    );
  }
  const body = (ctx.req.body ?? {}) as {
    location?: string;
    tags?: Record<string, string>;
    properties?: Partial<VaultProps>;
  };
  const p = body.properties;
  if (!body.location)
    return armError(400, 'LocationRequired', 'The location property is required for this definition.');
  if (!p?.tenantId || !p.sku) return armError(400, 'BadRequest', 'The parameters tenantId and sku are required.');
  const invalid = validatePolicies(p.accessPolicies ?? []);
  if (invalid) return invalid;
  const id = `${rgId(sub, rg)}/providers/${TYPE}/${name}`;
  const existing = findVault(ctx, name);
  if (existing && key(existing.id) !== key(id)) {
    return armError(
      409,
      'VaultAlreadyExists',
      `The vault name '${name}' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need to be explicitly purged.`,
    );
  }
  const deleted = ctx.world.deletedVaults.get(name.toLowerCase());
  if (!existing && deleted && p.createMode !== 'recover') {
    return armError(
      409,
      'ConflictError',
      'A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete.',
    );
  }
  const conflict = existing ? raced(ctx, existing) : undefined;
  if (conflict) return conflict;
  const vault: Resource = existing ?? {
    id,
    name,
    type: TYPE,
    location: body.location,
    tags: {},
    properties: {},
  };
  const vaultUri = await ctx.vaults.open(name);
  const prior = (existing?.properties ?? deleted?.vault?.properties ?? {}) as Partial<VaultProps>;
  const next: VaultProps = {
    tenantId: p.tenantId,
    sku: p.sku,
    accessPolicies: p.accessPolicies ?? prior.accessPolicies ?? [],
    enableRbacAuthorization:
      p.enableRbacAuthorization ?? prior.enableRbacAuthorization ?? rbacByDefault(ctx.req.query.get('api-version')),
    enableSoftDelete: true,
    softDeleteRetentionInDays: p.softDeleteRetentionInDays ?? prior.softDeleteRetentionInDays ?? 90,
    vaultUri,
    provisioningState: existing ? 'Succeeded' : 'RegisteringDns',
    // Read-only, shown by the createVault example (keyvault 2026-02-01 VaultProperties): none in the lab.
    privateEndpointConnections: [],
  };
  if (deleted && !existing) {
    ctx.world.deletedVaults.delete(name.toLowerCase());
    if (deleted.data) ctx.world.vaultData.set(name.toLowerCase(), deleted.data);
  }
  vault.tags = body.tags ?? vault.tags;
  vault.properties = next;
  // ARM's systemData (common-types v5 `systemData`, shown by the createVault and getVault examples): who made and
  // last changed the vault; a service principal is recorded by its application id.
  const now = new Date().toISOString();
  const who = { by: ctx.req.caller?.appid ?? 'unknown', type: 'Application' };
  const was = (existing?.systemData ?? {}) as Record<string, string>;
  vault.systemData = {
    createdBy: was.createdBy ?? who.by,
    createdByType: was.createdByType ?? who.type,
    createdAt: was.createdAt ?? now,
    lastModifiedBy: who.by,
    lastModifiedByType: who.type,
    lastModifiedAt: now,
  };
  put(ctx.world, vault);
  // A create is a change too (an update was marked by raced): a second create of the same name that was in flight
  // meanwhile is refused as above.
  if (!existing) changedAt.set(vault, Date.now());
  // Vaults_CreateOrUpdate (keyvault/…/stable/2025-05-01 and 2026-02-01 openapi.json): 200 with the vault for an
  // update, done at once; 201 with `Location` and `Retry-After` for a create, `"final-state-via": "location"`.
  if (existing) return json(200, vault);
  const { headers } = startLocationOperation(
    ctx.world,
    ctx.knobs,
    ctx.req,
    'PUT vaults',
    NS,
    body.location,
    () => {
      next.provisioningState = 'Succeeded';
    },
    () => get(ctx.world, id),
  );
  return json(201, vault, headers);
}

/** Vaults_Update: synchronous, 200 with the vault; what the body leaves out stays as it is. */
function patchVault(ctx: Ctx, m: RegExpExecArray): Reply {
  const [, sub, rg, name] = m as unknown as [string, string, string, string];
  const err = scopeError(ctx, sub, rg);
  if (err) return err;
  const vault = get(ctx.world, `${rgId(sub, rg)}/providers/${TYPE}/${name}`);
  if (!vault) return notFound(TYPE, name, rg);
  const body = (ctx.req.body ?? {}) as { tags?: Record<string, string>; properties?: Partial<VaultProps> };
  const p = body.properties ?? {};
  if (p.accessPolicies !== undefined) {
    const invalid = validatePolicies(p.accessPolicies);
    if (invalid) return invalid;
  }
  const conflict = raced(ctx, vault);
  if (conflict) return conflict;
  if (body.tags) vault.tags = body.tags;
  const props = vault.properties as VaultProps;
  // Only what a caller may change; soft delete, once on, stays on (as in Azure).
  for (const k of [
    'tenantId',
    'sku',
    'accessPolicies',
    'enableRbacAuthorization',
    'softDeleteRetentionInDays',
  ] as const) {
    if (p[k] !== undefined) (props as unknown as Record<string, unknown>)[k] = clone(p[k]);
  }
  const sd = (vault.systemData ?? {}) as Record<string, string>;
  vault.systemData = {
    ...sd,
    lastModifiedBy: ctx.req.caller?.appid ?? 'unknown',
    lastModifiedAt: new Date().toISOString(),
  };
  return json(200, vault);
}

/**
 * What a create that leaves `enableRbacAuthorization` out gets: `"default": true` in VaultProperties from
 * keyvault/…/stable/2026-02-01/openapi.json, `"default": false` in 2025-05-01 and before (whose description also
 * says "If null or not specified, the vault is created with the default value of false").
 */
const rbacByDefault = (apiVersion: string | null) => (apiVersion ?? '') >= '2026-02-01';

export const keyVaultRoutes: Route[] = [
  {
    method: 'GET',
    pattern: VAULT,
    op: 'GET vaults',
    provider: NS,
    handle(ctx, m) {
      const [, sub, rg, name] = m as unknown as [string, string, string, string];
      const vault = get(ctx.world, `${rgId(sub, rg)}/providers/${TYPE}/${name}`);
      return scopeError(ctx, sub, rg) ?? (vault ? json(200, vault) : notFound(TYPE, name, rg));
    },
  },
  { method: 'PUT', pattern: VAULT, op: 'PUT vaults', provider: NS, handle: putVault },
  { method: 'PATCH', pattern: VAULT, op: 'PATCH vaults', provider: NS, handle: patchVault },
  {
    method: 'DELETE',
    pattern: VAULT,
    op: 'DELETE vaults',
    provider: NS,
    handle(ctx, m) {
      const [, sub, rg, name] = m as unknown as [string, string, string, string];
      const err = scopeError(ctx, sub, rg);
      if (err) return err;
      const id = `${rgId(sub, rg)}/providers/${TYPE}/${name}`;
      const vault = get(ctx.world, id);
      if (!vault) return json(204);
      ctx.world.resources.delete(key(id));
      ctx.vaults.close(name);
      const now = Date.now();
      const days = (vault.properties as VaultProps).softDeleteRetentionInDays;
      ctx.world.deletedVaults.set(name.toLowerCase(), {
        name: vault.name,
        location: String(vault.location),
        vaultId: vault.id,
        deletionDate: new Date(now).toISOString(),
        scheduledPurgeDate: new Date(now + days * 86_400_000).toISOString(),
        tags: (vault.tags ?? {}) as Record<string, string>,
        vault,
        data: ctx.world.vaultData.get(name.toLowerCase()),
      });
      ctx.world.vaultData.delete(name.toLowerCase());
      return json(200);
    },
  },
  {
    method: 'PUT',
    pattern: rgPath(NS, 'vaults/([^/]+)/accessPolicies/(add|replace|remove)'),
    op: 'PUT accessPolicies',
    provider: NS,
    handle(ctx, m) {
      const [, sub, rg, name, kind] = m as unknown as [string, string, string, string, string];
      const err = scopeError(ctx, sub, rg);
      if (err) return err;
      const vault = get(ctx.world, `${rgId(sub, rg)}/providers/${TYPE}/${name}`);
      if (!vault) return notFound(TYPE, name, rg);
      const changes = ((ctx.req.body ?? {}) as { properties?: { accessPolicies?: AccessPolicy[] } }).properties
        ?.accessPolicies;
      const invalid = validatePolicies(changes);
      if (invalid) return invalid;
      const conflict = raced(ctx, vault);
      if (conflict) return conflict;
      const props = vault.properties as VaultProps;
      props.accessPolicies = applyPolicies(props.accessPolicies, kind.toLowerCase(), changes as AccessPolicy[]);
      return json(200, {
        id: `${vault.id}/accessPolicies/${kind}`,
        name: kind,
        type: 'Microsoft.KeyVault/vaults/accessPolicies',
        location: vault.location,
        properties: { accessPolicies: changes },
      });
    },
  },
  {
    method: 'GET',
    pattern: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.KeyVault\/locations\/([^/]+)\/deletedVaults\/([^/]+)$/i,
    op: 'GET deletedVaults',
    provider: NS,
    handle(ctx, m) {
      const d = ctx.world.deletedVaults.get((m[3] as string).toLowerCase());
      if (scopeError(ctx, m[1] as string)) return scopeError(ctx, m[1] as string) as Reply;
      if (!d || d.location.toLowerCase() !== (m[2] as string).toLowerCase()) {
        return armError(
          404,
          'ResourceNotFound',
          `The Resource 'Microsoft.KeyVault/deletedVaults/${m[3]}' under location '${m[2]}' was not found.`,
        );
      }
      return json(200, deletedView(ctx, d));
    },
  },
  {
    method: 'GET',
    pattern: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.KeyVault\/deletedVaults$/i,
    op: 'GET deletedVaults',
    provider: NS,
    handle(ctx) {
      return json(200, { value: [...ctx.world.deletedVaults.values()].map((d) => deletedView(ctx, d)) });
    },
  },
  {
    method: 'POST',
    pattern:
      /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.KeyVault\/locations\/([^/]+)\/deletedVaults\/([^/]+)\/purge$/i,
    op: 'POST purge',
    provider: NS,
    handle(ctx, m) {
      const name = (m[3] as string).toLowerCase();
      if (!ctx.world.deletedVaults.has(name)) {
        return armError(
          404,
          'ResourceNotFound',
          `The Resource 'Microsoft.KeyVault/deletedVaults/${m[3]}' under location '${m[2]}' was not found.`,
        );
      }
      ctx.world.deletedVaults.delete(name);
      return json(200);
    },
  },
  {
    method: 'POST',
    pattern: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.KeyVault\/checkNameAvailability$/i,
    op: 'POST checkNameAvailability',
    provider: NS,
    handle(ctx) {
      const name = String((ctx.req.body as { name?: string } | undefined)?.name ?? '');
      if (!NAME_RULE.test(name))
        return json(200, { nameAvailable: false, reason: 'AccountNameInvalid', message: 'The vault name is invalid.' });
      if (findVault(ctx, name) || ctx.world.deletedVaults.has(name.toLowerCase())) {
        return json(200, {
          nameAvailable: false,
          reason: 'AlreadyExists',
          message: `The vault name '${name}' is already in use.`,
        });
      }
      return json(200, { nameAvailable: true });
    },
  },
];

function deletedView(
  ctx: Ctx,
  d: {
    name: string;
    location: string;
    vaultId: string;
    deletionDate: string;
    scheduledPurgeDate: string;
    tags: Record<string, string>;
  },
) {
  return {
    id: `/subscriptions/${ctx.world.subscriptionId}/providers/${NS}/locations/${d.location}/deletedVaults/${d.name}`,
    name: d.name,
    type: 'Microsoft.KeyVault/deletedVaults',
    properties: {
      vaultId: d.vaultId,
      location: d.location,
      deletionDate: d.deletionDate,
      scheduledPurgeDate: d.scheduledPurgeDate,
      tags: d.tags,
      purgeProtectionEnabled: false,
    },
  };
}
