/**
 * The Key Vault data plane for secrets, one HTTPS listener per vault (its vaultUri is `https://127.0.0.1:<port>/`,
 * since loopback has no per-vault host names). It speaks what @azure/keyvault-secrets expects: the 401 bearer
 * challenge first, then set/get/list/delete/recover secrets and update a version's properties (PATCH, which needs
 * `set`: its tags, content type and enabled flag), and it enforces the vault's access model: access
 * policies (`secrets` permissions) or, for an RBAC vault, role assignments on the secret, the vault or a scope
 * above them.
 */
import { randomUUID } from 'node:crypto';
import { json, type Reply, type Request } from './arm-http.js';
import { propagationFor, type Knobs } from './knobs.js';
import { assignments, BUILT_IN_ROLES, covers, roleGuid } from './routes-authorization.js';
import type { VaultProps } from './routes-keyvault.js';
import { verifyToken } from './token.js';
import type { Resource, SecretVersion, VaultData, World } from './world.js';

export const VAULT_AUDIENCE = 'https://vault.azure.net';

/** The data actions behind each secret permission ("Azure built-in roles", Key Vault Secrets Officer/User). */
const DATA_ACTIONS: Record<string, string> = {
  get: 'Microsoft.KeyVault/vaults/secrets/getSecret/action',
  list: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
  set: 'Microsoft.KeyVault/vaults/secrets/setSecret/action',
  delete: 'Microsoft.KeyVault/vaults/secrets/delete',
};

const kvError = (status: number, code: string, message: string, inner?: string) =>
  json(status, { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } });

/**
 * A secret takes at most 15 tags ("About Azure Key Vault secrets"); more is refused with 400 BadParameter
 * "Property has invalid value" (as quoted in hashicorp/terraform-provider-azurerm#16780).
 */
const tooManyTags = (tags: Record<string, string> | undefined) =>
  tags && Object.keys(tags).length > 15 ? kvError(400, 'BadParameter', 'Property has invalid value') : undefined;

function vaultOf(world: World, name: string): Resource | undefined {
  for (const r of world.resources.values()) {
    if (r.type === 'Microsoft.KeyVault/vaults' && r.name.toLowerCase() === name.toLowerCase()) return r;
  }
  return undefined;
}

/**
 * Whether `oid` may do `permission` on `target` (the vault's id, or `{vault id}/secrets/{name}` for one secret). An
 * RBAC vault honours role assignments at the secret, the vault or any scope above ("Provide access to Key Vault
 * keys, certificates, and secrets with Azure role-based access control": roles can be assigned at the secret
 * scope); an access-policy vault has no finer grain than the vault.
 */
function allowed(world: World, knobs: Knobs, vault: Resource, oid: string, permission: string, target: string) {
  const p = vault.properties as VaultProps;
  if (p.enableRbacAuthorization) {
    // A role assignment reaches the data plane only after the propagation delay, as in Azure.
    const propagation = propagationFor(knobs, `vault:${vault.name}/`);
    if (propagation === 'held') return false;
    const effectiveBefore = Date.now() - propagation;
    return assignments({ world }).some((a) => {
      const q = a.properties as { scope: string; principalId: string; roleDefinitionId: string; createdOn: string };
      const role = BUILT_IN_ROLES[roleGuid(q.roleDefinitionId)];
      return (
        q.principalId.toLowerCase() === oid &&
        covers(q.scope, target) &&
        Boolean(role?.secrets.includes(permission)) &&
        Date.parse(q.createdOn) <= effectiveBefore
      );
    });
  }
  return p.accessPolicies.some(
    (a) =>
      a.objectId.toLowerCase() === oid && (a.permissions.secrets ?? []).some((s) => s === permission || s === 'all'),
  );
}

const bundle = (base: string, name: string, v: SecretVersion, withValue: boolean) => ({
  ...(withValue ? { value: v.value } : {}),
  id: `${base}secrets/${name}/${v.version}`,
  contentType: v.contentType,
  tags: v.tags,
  attributes: {
    enabled: true,
    created: Math.floor(v.created / 1000),
    updated: Math.floor(v.created / 1000),
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  },
});

/** The operation name for knobs and logs, e.g. `PUT secrets`. */
export function vaultOp(req: Request): string {
  const first = req.path.split('/')[1] ?? '';
  return `${req.method} ${first || 'vault'}`;
}

export function handleVaultRequest(
  world: World,
  knobs: Knobs,
  vaultName: string,
  authority: string,
  req: Request,
): Reply {
  const vault = vaultOf(world, vaultName);
  if (!vault) return kvError(404, 'VaultNotFound', `The vault '${vaultName}' does not exist (deleted?).`);
  const base = (vault.properties as VaultProps).vaultUri;
  const challenge = {
    'WWW-Authenticate': `Bearer authorization="${authority}/${world.tenantId}", resource="${VAULT_AUDIENCE}"`,
  };
  const claims = verifyToken(req.headers.authorization, [VAULT_AUDIENCE]);
  if (!claims)
    return {
      ...kvError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'),
      headers: challenge,
    };

  const segs = req.path.split('/').filter(Boolean);
  const data = world.vaultData.get(vaultName.toLowerCase()) ?? { secrets: new Map(), deletedSecrets: new Map() };
  world.vaultData.set(vaultName.toLowerCase(), data);
  // The operation's target: one secret (what a secret-scoped role assignment covers), or the vault for a list.
  const secret = segs[0] === 'secrets' || segs[0] === 'deletedsecrets' ? segs[1] : undefined;
  const target = secret ? `${vault.id}/secrets/${secret}` : vault.id;
  const need = (perm: string): Reply | undefined => {
    if (allowed(world, knobs, vault, claims.oid.toLowerCase(), perm, target)) return undefined;
    const rbac = (vault.properties as VaultProps).enableRbacAuthorization;
    return rbac
      ? kvError(
          403,
          'Forbidden',
          `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=${claims.appid};oid=${claims.oid}\r\nAction: '${DATA_ACTIONS[perm] ?? `Microsoft.KeyVault/vaults/secrets/${perm}`}'\r\nResource: '${target.toLowerCase()}'`,
          'ForbiddenByRbac',
        )
      : kvError(
          403,
          'Forbidden',
          `The user, group or application 'appid=${claims.appid};oid=${claims.oid}' does not have secrets ${perm} permission on key vault '${vault.name};location=${vault.location}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
          'AccessDenied',
        );
  };
  return route(req, segs, data, base, need);
}

function route(
  req: Request,
  segs: string[],
  data: VaultData,
  base: string,
  need: (p: string) => Reply | undefined,
): Reply {
  const [collection, name, version] = segs as [string | undefined, string | undefined, string | undefined];
  const notFound = (n: string) =>
    kvError(
      404,
      'SecretNotFound',
      `A secret with (name/id) ${n} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    );
  if (collection === 'secrets' && !name && req.method === 'GET') {
    const denied = need('list');
    if (denied) return denied;
    const value = [...data.secrets.entries()].map(([n, vs]) => {
      const { id: _id, ...rest } = bundle(base, n, vs[vs.length - 1] as SecretVersion, false);
      return { id: `${base}secrets/${n}`, ...rest };
    });
    return json(200, { value, nextLink: null });
  }
  if (collection === 'secrets' && name) {
    if (req.method === 'PUT') {
      const denied = need('set');
      if (denied) return denied;
      if (data.deletedSecrets.has(name)) {
        return kvError(
          409,
          'Conflict',
          `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
          'ObjectIsDeletedButRecoverable',
        );
      }
      const body = (req.body ?? {}) as { value?: string; contentType?: string; tags?: Record<string, string> };
      if (typeof body.value !== 'string') return kvError(400, 'BadParameter', 'The secret value is required.');
      const refused = tooManyTags(body.tags);
      if (refused) return refused;
      const v: SecretVersion = {
        version: randomUUID().replace(/-/g, ''),
        value: body.value,
        contentType: body.contentType,
        tags: body.tags,
        created: Date.now(),
      };
      data.secrets.set(name, [...(data.secrets.get(name) ?? []), v]);
      return json(200, bundle(base, name, v, true));
    }
    if (req.method === 'PATCH' && version) {
      // Update Secret: changes the named version's attributes and tags; the value never changes this way.
      const denied = need('set');
      if (denied) return denied;
      const v = data.secrets.get(name)?.find((x) => x.version === version);
      if (!v) return notFound(name);
      const body = (req.body ?? {}) as { contentType?: string; tags?: Record<string, string> };
      const refused = tooManyTags(body.tags);
      if (refused) return refused;
      if (body.tags !== undefined) v.tags = body.tags;
      if (body.contentType !== undefined) v.contentType = body.contentType;
      return json(200, bundle(base, name, v, false));
    }
    if (req.method === 'GET' && version === 'versions') {
      const denied = need('list');
      if (denied) return denied;
      const versions = data.secrets.get(name);
      if (!versions) return notFound(name);
      return json(200, { value: versions.map((v) => bundle(base, name, v, false)), nextLink: null });
    }
    if (req.method === 'GET') {
      const denied = need('get');
      if (denied) return denied;
      const versions = data.secrets.get(name);
      const v = version ? versions?.find((x) => x.version === version) : versions?.[versions.length - 1];
      return v ? json(200, bundle(base, name, v, true)) : notFound(name);
    }
    if (req.method === 'DELETE') {
      const denied = need('delete');
      if (denied) return denied;
      const versions = data.secrets.get(name);
      if (!versions) return notFound(name);
      data.secrets.delete(name);
      data.deletedSecrets.set(name, { versions, deletedDate: Date.now() });
      return json(200, {
        ...bundle(base, name, versions[versions.length - 1] as SecretVersion, false),
        recoveryId: `${base}deletedsecrets/${name}`,
        deletedDate: Math.floor(Date.now() / 1000),
      });
    }
  }
  if (collection === 'deletedsecrets' && name) {
    const deleted = data.deletedSecrets.get(name);
    const last = deleted?.versions[deleted.versions.length - 1];
    if (!deleted || !last) return kvError(404, 'DeletedSecretNotFound', `Deleted Secret not found: ${name}`);
    if (req.method === 'GET') {
      return (
        need('get') ??
        json(200, {
          ...bundle(base, name, last, false),
          recoveryId: `${base}deletedsecrets/${name}`,
          deletedDate: Math.floor(deleted.deletedDate / 1000),
        })
      );
    }
    if (req.method === 'POST' && version === 'recover') {
      const denied = need('recover');
      if (denied) return denied;
      data.deletedSecrets.delete(name);
      data.secrets.set(name, deleted.versions);
      return json(200, bundle(base, name, last, false));
    }
    if (req.method === 'DELETE') {
      const denied = need('purge');
      if (denied) return denied;
      data.deletedSecrets.delete(name);
      return json(204);
    }
  }
  return kvError(400, 'BadParameter', `Unsupported request ${req.method} ${req.path}`);
}
