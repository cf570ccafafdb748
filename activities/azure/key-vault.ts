/**
 * Key Vault (New-GMSAAzureKeyVault): the vault in access-policy or RBAC mode, with data-plane rights for the worker
 * itself; the gMSA standard user's secret `<DOMAIN FQDN>\<user>:<password>`, whose password is generated here (or
 * copied from the user's canonical secret) and leaves this file only into Key Vault; the reader the AD activities
 * use to get it back; and the removals, which go by the ownership tags (tags.ts), never by what an attempt said.
 */
import type { Vault } from '@azure/arm-keyvault';
import { parseKeyVaultSecretIdentifier, type KeyVaultSecret } from '@azure/keyvault-secrets';
import type { AzureClients, CallerIdentity } from './clients.js';
import { azureCall, azureFailure, codeOf, isNotFound, statusOf } from './errors.js';
import { setTimeout as delay } from 'node:timers/promises';
import { beat } from '../keep-alive.js';
import { pollWithHeartbeat } from './poll.js';
import { formatCcgSecret, parseCcgSecret } from '../../domain/ccg-secret.js';
import { generatePassword } from './secret-format.js';
import { claimExisting, createdTags, formatAccessTag, parseAccessTag, removalOf, WORKER_ACCESS_TAG } from './tags.js';
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
import { ownershipFromTags } from '../../domain/ownership.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import type {
  AzureResourceRef,
  DeleteKeyVaultInput,
  DeleteUserSecretInput,
  EnsureKeyVaultInput,
  KeyVaultResult,
  RemovalResult,
  SecretReader,
  StoreUserSecretInput,
  UserSecretResult,
} from '../../contract/activities.js';
import type { Owner } from '../../domain/ownership.js';

/** What the worker gets on a vault it creates: write and later read the secret, delete and recover it. */
const WORKER_SECRET_PERMISSIONS = ['get', 'list', 'set', 'delete', 'recover'];
/**
 * What it gets on an adopted vault, where the steps are all it may do: storeUserSecret reads (get) and writes (set:
 * a value, or tags on the secret's properties) the one secret, the AD steps and verifyChain read it (get), and
 * deleteUserSecret deletes it when it is this product's (delete). No list, recover, purge or backup.
 */
const ADOPTED_WORKER_PERMISSIONS = ['get', 'set', 'delete'];

const label = (r: AzureResourceRef) => `key vault ${r.resourceGroup}/${r.name}`;
const secretLabel = (vaultUri: string, name: string) => `secret ${name} in ${vaultUri}`;
const modeOf = (v: Vault) => (v.properties.enableRbacAuthorization ? 'rbac' : 'accessPolicy');

/** An SDK error without its request: a failed setSecret's request body holds the password. */
export function withoutRequest(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const { statusCode, code, response } = e as Error & { statusCode?: number; code?: string; response?: unknown };
  const headers = (response as { headers?: unknown } | undefined)?.headers;
  return Object.assign(new Error(e.message), {
    name: e.name,
    statusCode,
    code,
    response: headers ? { headers } : undefined,
  });
}

/** `https://vault/secrets/name` of a secret id, with or without its version. */
function versionless(id: string): string {
  const p = parseKeyVaultSecretIdentifier(id);
  return `${p.vaultUrl.replace(/\/$/, '')}/secrets/${p.name}`;
}

export function createKeyVaultActivities(clients: AzureClients) {
  async function getVault(input: AzureResourceRef): Promise<Vault | undefined> {
    return azureCall(`get ${label(input)}`, () =>
      clients
        .keyVault(input.subscriptionId)
        .vaults.get(input.resourceGroup, input.name)
        .catch((e: unknown) => {
          if (isNotFound(e) && codeOf(e) !== 'ResourceGroupNotFound') return undefined;
          throw e;
        }),
    );
  }

  /** Key Vault's 409s on create, turned into what the user can do about them. */
  async function createConflict(e: unknown, input: EnsureKeyVaultInput): Promise<Error> {
    const message = String((e as Error).message);
    if (statusOf(e) === 409 && /deleted state|recently deleted/i.test(message) && codeOf(e) === 'ConflictError') {
      const deleted = await clients
        .keyVault(input.subscriptionId)
        .vaults.getDeleted(input.name, input.location)
        .catch(() => undefined);
      const when = deleted?.properties?.deletionDate
        ? ` (deleted ${deleted.properties.deletionDate.toISOString()}, purged automatically ${deleted.properties.scheduledPurgeDate?.toISOString()})`
        : '';
      return fatal(
        ErrorType.Conflict,
        `key vault name '${input.name}' is held by a soft-deleted vault${when}. Recover it (az keyvault recover --name ${input.name}), purge it (az keyvault purge --name ${input.name} --location ${input.location}), or choose another name.`,
      );
    }
    if (statusOf(e) === 409 && codeOf(e) === 'VaultAlreadyExists') {
      return fatal(
        ErrorType.Conflict,
        `key vault name '${input.name}' belongs to another vault (names are global across Azure); choose another name. ${message}`,
      );
    }
    return azureFailure(e, `create ${label(input)}`);
  }

  async function createVault(input: EnsureKeyVaultInput, owner: Owner, caller: CallerIdentity): Promise<Vault> {
    const rbac = input.accessMode === 'rbac';
    const what = `create ${label(input)}`;
    try {
      const poller = clients.keyVault(input.subscriptionId).vaults.createOrUpdate(
        input.resourceGroup,
        input.name,
        {
          location: input.location,
          // The marker goes in with the create: a vault whose creator dies before it reports is still ours.
          tags: createdTags(owner),
          properties: {
            tenantId: caller.tenantId,
            sku: { family: 'A', name: 'standard' },
            enableRbacAuthorization: rbac,
            enableSoftDelete: true,
            accessPolicies: rbac
              ? []
              : [
                  {
                    tenantId: caller.tenantId,
                    objectId: caller.objectId,
                    permissions: { secrets: WORKER_SECRET_PERMISSIONS as never[] },
                  },
                ],
          },
        },
        { updateIntervalInMs: clients.pollIntervalMs },
      );
      return await pollWithHeartbeat(what, poller);
    } catch (e) {
      throw await createConflict(e, input);
    }
  }

  /** The same PUT again, with the vault's properties as they are: how an ARM resource leaves Failed. */
  async function reapply(input: EnsureKeyVaultInput, vault: Vault, tags: Record<string, string> | undefined) {
    const what = `re-apply ${label(input)} (provisioningState Failed)`;
    const { provisioningState: _p, vaultUri: _u, ...properties } = vault.properties;
    return azureCall(what, () =>
      pollWithHeartbeat(
        what,
        clients
          .keyVault(input.subscriptionId)
          .vaults.createOrUpdate(
            input.resourceGroup,
            input.name,
            { location: String(vault.location), tags: tags ?? vault.tags, properties },
            { updateIntervalInMs: clients.pollIntervalMs },
          ),
      ),
    );
  }

  /**
   * A create of ours still under way (an attempt whose worker died mid-poll started it): wait for its end, as the
   * dead attempt would have, rather than hand on a vault whose data plane may not resolve yet.
   */
  async function settled(input: EnsureKeyVaultInput, vault: Vault): Promise<Vault> {
    let current = vault;
    const state = () => String(current.properties.provisioningState ?? 'Succeeded');
    while (!/^(Succeeded|Failed)$/i.test(state())) {
      beat({ waitingFor: `${label(input)} to finish its create (provisioningState ${state()})` });
      await delay(clients.pollIntervalMs ?? 2_000);
      const again = await getVault(input);
      if (!again) throw transient(`${label(input)} disappeared while it was being created; looking again`);
      current = again;
    }
    return current;
  }

  async function ensureKeyVault(input: EnsureKeyVaultInput): Promise<KeyVaultResult> {
    const owner = ownerOf(input);
    const caller = await azureCall('identify the Azure caller', () => clients.caller());
    const existing = await getVault(input);
    if (!existing) {
      const vault = await createVault(input, owner, caller);
      await grantWorker(input, vault, caller, owner, false);
      return result(vault, true, false);
    }
    // Refused (not ours, not adopted) before any write.
    const claimed = claimExisting('keyVault', label(input), existing.tags, owner);
    const mode = modeOf(existing);
    if (!claimed.adopted && mode !== input.accessMode) {
      throw fatal(
        ErrorType.PreconditionFailed,
        `${label(input)} exists in ${mode} mode but ${input.accessMode} was requested; set options.keyVaultAccess to '${mode}' or use another vault (switching a vault's access model can lock out its other users).`,
      );
    }
    let vault = claimed.adopted ? existing : await settled(input, existing);
    if (!claimed.adopted && /^Failed$/i.test(String(vault.properties.provisioningState ?? ''))) {
      // A create of ours whose operation ended Failed (an earlier attempt's): the marks ride on the same PUT.
      vault = await reapply(input, vault, claimed.tags);
    } else if (claimed.adopted) {
      // An adopted vault keeps every property (access model, network rules, soft delete): only tags and the
      // worker's own access change, and the record of that access goes in with the marks.
      const missing =
        mode === 'accessPolicy' ? missingPermissions(existing, caller.objectId, ADOPTED_WORKER_PERMISSIONS) : [];
      const tags = withWorkerRecord(claimed.tags ?? existing.tags ?? {}, caller.objectId, missing);
      if (claimed.tags || missing.length > 0) vault = await patchVaultTags(clients, input, tags);
    } else if (claimed.tags) {
      vault = await patchVaultTags(clients, input, claimed.tags);
    }
    await grantWorker(input, vault, caller, owner, claimed.adopted);
    return result(vault, false, claimed.adopted);
  }

  /** The worker's tag on an adopted vault: what it was given there, so the last release can take it back. */
  function withWorkerRecord(tags: Record<string, string>, objectId: string, added: string[]): Record<string, string> {
    if (added.length === 0) return tags;
    const before = parseAccessTag(tags[WORKER_ACCESS_TAG]);
    const permissions = [
      ...new Set([...(before?.objectId === objectId.toLowerCase() ? before.permissions : []), ...added]),
    ];
    return { ...tags, [WORKER_ACCESS_TAG]: formatAccessTag(objectId, permissions) };
  }

  /**
   * The worker's data-plane rights. On a vault it created: manage secrets (Secrets Officer, or the policy it was
   * created with). On an adopted vault: get, set and delete by policy; on an adopted RBAC vault Secrets Officer at
   * the vault, the narrowest built-in role that can write a secret, unless the worker has it (or more) already.
   */
  async function grantWorker(
    input: EnsureKeyVaultInput,
    vault: Vault,
    caller: CallerIdentity,
    owner: Owner,
    adopted: boolean,
  ) {
    if (modeOf(vault) === 'rbac') {
      await ensureRoleAssignment(clients, input.subscriptionId, {
        scope: String(vault.id),
        principalId: caller.objectId,
        role: ROLE.keyVaultSecretsOfficer,
        alsoEnough: [ROLE.keyVaultAdministrator],
        principalType: caller.principalType,
        binding: owner.binding,
      });
    } else {
      await ensureAccessPolicy(
        clients,
        input,
        vault,
        caller.objectId,
        adopted ? ADOPTED_WORKER_PERMISSIONS : WORKER_SECRET_PERMISSIONS,
      );
    }
  }

  const result = (vault: Vault, created: boolean, adopted: boolean): KeyVaultResult => ({
    id: String(vault.id),
    vaultUri: String(vault.properties.vaultUri),
    created,
    adopted,
    accessMode: modeOf(vault),
  });

  async function readSecret(vaultUri: string, secretName: string): Promise<KeyVaultSecret | undefined> {
    try {
      return await clients.secrets(vaultUri).getSecret(secretName);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw azureFailure(withoutRequest(e), `read ${secretLabel(vaultUri, secretName)}`);
    }
  }

  /** The canonical secret's value (copyFrom), refused with what to do when the worker cannot read it. */
  async function readCanonical(input: StoreUserSecretInput & { copyFrom: string }): Promise<string> {
    let where: { vaultUri: string; name: string };
    try {
      const p = parseKeyVaultSecretIdentifier(input.copyFrom);
      where = { vaultUri: p.vaultUrl.endsWith('/') ? p.vaultUrl : `${p.vaultUrl}/`, name: p.name };
    } catch {
      throw fatal(ErrorType.InvalidInput, `copyFrom is not a Key Vault secret URI: ${input.copyFrom}`);
    }
    const fix =
      `grant the worker Key Vault Secrets User on that secret (or get on secrets by access policy), ` +
      `or use that vault (azure.keyVault) for this binding`;
    let secret: KeyVaultSecret;
    try {
      secret = await clients.secrets(where.vaultUri).getSecret(where.name);
    } catch (e) {
      const status = statusOf(e);
      if (status === 403 || status === 404 || status === 401) {
        throw fatal(
          ErrorType.Conflict,
          `the canonical secret of ${input.user} (${input.copyFrom}) cannot be read by the worker (${status} ${codeOf(e) ?? ''}); ` +
            `a new password would break the clusters already using it. To fix it, ${fix}`,
        );
      }
      throw azureFailure(withoutRequest(e), `read the canonical secret ${input.copyFrom}`);
    }
    const parsed = secret.value ? parseCcgSecret(secret.value) : undefined;
    if (
      !secret.value ||
      !parsed ||
      parsed.domain.toLowerCase() !== input.domainFqdn.toLowerCase() ||
      parsed.user.toLowerCase() !== input.user.toLowerCase()
    ) {
      throw fatal(
        ErrorType.Conflict,
        `the canonical secret ${input.copyFrom} does not hold ${input.domainFqdn}\\${input.user}'s credential in the CCG format; ` +
          `fix that secret or the user's marker before this binding copies it`,
      );
    }
    return secret.value;
  }

  async function storeUserSecret(input: StoreUserSecretInput): Promise<UserSecretResult> {
    // Read first (get): what exists decides everything below.
    const existing = await readSecret(input.vaultUri, input.secretName);
    const owner = ownerOf(input);
    const what = secretLabel(input.vaultUri, input.secretName);
    const claimed = existing ? claimExisting('secret', what, existing.properties.tags, owner) : undefined;
    const tags = claimed
      ? { ...(claimed.tags ?? existing?.properties.tags ?? {}), user: input.user }
      : createdTags(owner, { user: input.user });
    const copiedFrom = input.copyFrom ? { copiedFrom: input.copyFrom } : {};

    let value: string;
    if (input.copyFrom) {
      value = await readCanonical({ ...input, copyFrom: input.copyFrom });
    } else {
      const parsed = existing?.value ? parseCcgSecret(existing.value) : undefined;
      const sameUser =
        parsed &&
        parsed.domain.toLowerCase() === input.domainFqdn.toLowerCase() &&
        parsed.user.toLowerCase() === input.user.toLowerCase();
      value = sameUser
        ? (existing?.value as string)
        : formatCcgSecret({ domain: input.domainFqdn, user: input.user, password: generatePassword(input.user) });
    }

    if (existing?.properties.id && existing.value === value) {
      // The value is right: no new version; only the marks, when this binding is not listed yet.
      if (claimed?.tags || existing.properties.tags?.user !== input.user) {
        await azureCall(`mark ${what}`, () =>
          clients
            .secrets(input.vaultUri)
            .updateSecretProperties(input.secretName, String(existing.properties.version), { tags }),
        );
      }
      return { secretUri: versionless(existing.properties.id), created: false, ...copiedFrom };
    }
    try {
      const stored = await clients
        .secrets(input.vaultUri)
        .setSecret(input.secretName, value, { contentType: 'text/plain', tags });
      return { secretUri: versionless(String(stored.properties.id)), created: true, ...copiedFrom };
    } catch (e) {
      if (codeOf(e) === 'Conflict') await recoverOurs(input.vaultUri, input.secretName, what);
      throw azureFailure(withoutRequest(e), `write ${what}`);
    }
  }

  /**
   * A name held by a soft-deleted secret (ObjectIsDeletedButRecoverable: a deprovision deleted it, and its vault
   * stays because another binding uses it) cannot be written until it is recovered or purged. One of ours is
   * recovered, which keeps Key Vault's safety net (a purge would not), and the step's next attempt reads it as it
   * reads any existing secret; a foreign one is refused, naming the fix. Recovery needs list and recover, which a
   * vault this product created grants the worker; on an adopted vault (get, set and delete only) it says so.
   */
  async function recoverOurs(vaultUri: string, secretName: string, what: string): Promise<never> {
    const secrets = clients.secrets(vaultUri);
    const manual = `recover it (az keyvault secret recover --vault-name … --name ${secretName}) or purge it`;
    let tags: Record<string, string> | undefined;
    try {
      tags = (await secrets.getDeletedSecret(secretName)).properties.tags;
    } catch (e) {
      if (isNotFound(e)) throw transient(`${what} was soft-deleted and is no longer: writing it again`);
      throw azureFailure(withoutRequest(e), `read the soft-deleted ${what}`, `the secret is soft-deleted: ${manual}`);
    }
    if (!ownershipFromTags(tags)) {
      throw fatal(ErrorType.Conflict, `${what} is soft-deleted and not marked as aks-gmsa's: ${manual}`);
    }
    try {
      const poller = await secrets.beginRecoverDeletedSecret(secretName, { intervalInMs: clients.pollIntervalMs });
      await poller.pollUntilDone();
    } catch (e) {
      throw azureFailure(
        withoutRequest(e),
        `recover the soft-deleted ${what}`,
        `the secret is soft-deleted: ${manual}`,
      );
    }
    throw transient(`recovered the soft-deleted ${what} of ours; the next attempt reads it`, 1000);
  }

  /** Removal: deletes the secret when it is this product's and no other binding uses it; else releases or leaves it. */
  async function deleteUserSecret(input: DeleteUserSecretInput): Promise<RemovalResult & { kept?: string }> {
    const existing = await readSecret(input.vaultUri, input.secretName);
    if (!existing) return { removed: false };
    const owner = ownerOf(input);
    const what = secretLabel(input.vaultUri, input.secretName);
    const r = removalOf(what, existing.properties.tags, owner.binding);
    if (r.action === 'foreign') return { removed: false, kept: r.reason };
    if (r.action === 'release') {
      if (r.tags) {
        const tags = r.tags;
        await azureCall(`unmark ${what}`, () =>
          clients
            .secrets(input.vaultUri)
            .updateSecretProperties(input.secretName, String(existing.properties.version), { tags }),
        );
      }
      return { removed: false, kept: r.reason };
    }
    try {
      // The first poll sends the DELETE; Key Vault soft-deletes at once (a 403 on reading it back counts as done).
      await clients.secrets(input.vaultUri).beginDeleteSecret(input.secretName);
    } catch (e) {
      if (isNotFound(e)) return { removed: false };
      throw azureFailure(
        withoutRequest(e),
        `delete ${what}`,
        statusOf(e) === 403
          ? 'the worker needs delete on secrets there (an adopted vault gives it get, set and delete)'
          : '',
      );
    }
    return { removed: true };
  }

  /**
   * Removal: deletes the vault when it is this product's and no other binding uses it (and purges it when asked,
   * freeing the global name); a vault others use, or one that was adopted, only loses this binding's marks (and, on
   * the last release of an adopted vault, the worker's access recorded there). A foreign vault is left as it is.
   */
  async function deleteKeyVault(
    input: DeleteKeyVaultInput,
  ): Promise<{ deleted: boolean; purged: boolean; kept?: string }> {
    const owner = ownerOf(input);
    const vaults = clients.keyVault(input.subscriptionId).vaults;
    const vault = await getVault(input);
    if (vault) {
      const r = removalOf(label(input), vault.tags, owner.binding);
      if (r.action === 'foreign') return { deleted: false, purged: false, kept: r.reason };
      if (r.action === 'release') {
        if (r.tags) await letGo(input, vault, r.tags, r.unmarked, owner);
        return { deleted: false, purged: false, kept: r.reason };
      }
      await azureCall(`delete ${label(input)}`, () => vaults.delete(input.resourceGroup, input.name));
    }
    let purged = false;
    if (input.purge) {
      // Read first: after a lost reply to an earlier purge there is nothing left to purge, and no need to ask.
      const deleted = await azureCall(`get deleted ${label(input)}`, () =>
        vaults.getDeleted(input.name, input.location).catch((e: unknown) => {
          if (isNotFound(e)) return undefined;
          throw e;
        }),
      );
      // A soft-deleted vault is purged only when its tags (as it was deleted) say this binding may delete it.
      const ours =
        deleted && (vault || removalOf(label(input), deleted.properties?.tags, owner.binding).action === 'delete');
      if (ours) {
        purged = await azureCall(`purge deleted ${label(input)}`, async () => {
          try {
            await pollWithHeartbeat(`purge ${label(input)}`, vaults.purgeDeleted(input.name, input.location));
            return true;
          } catch (e) {
            if (isNotFound(e)) return false;
            throw e;
          }
        });
      }
    }
    return { deleted: vault !== undefined, purged };
  }

  /** Takes this binding's marks off a vault; when no binding is left on an adopted one, the worker's access too. */
  async function letGo(
    input: AzureResourceRef,
    vault: Vault,
    tags: Record<string, string>,
    unmarked: boolean,
    owner: Owner,
  ) {
    if (unmarked) {
      const caller = await azureCall('identify the Azure caller', () => clients.caller());
      const recorded = parseAccessTag(tags[WORKER_ACCESS_TAG]);
      if (recorded?.objectId === caller.objectId.toLowerCase()) {
        await removeAccessPolicy(clients, input, vault, caller.objectId, recorded.permissions);
      }
      await revokeRoleAssignments(
        clients,
        input.subscriptionId,
        String(vault.id),
        caller.objectId,
        owner.binding,
        true,
      );
      delete tags[WORKER_ACCESS_TAG];
    }
    await patchVaultTags(clients, input, tags);
  }

  return { ensureKeyVault, storeUserSecret, deleteUserSecret, deleteKeyVault };
}

/** The SecretReader the AD activities use to read the standard user's secret value. */
export function createSecretReader(clients: AzureClients): SecretReader {
  return {
    async read(vaultUri, secretName) {
      let secret: KeyVaultSecret;
      try {
        secret = await clients.secrets(vaultUri).getSecret(secretName);
      } catch (e) {
        throw azureFailure(
          withoutRequest(e),
          `read secret ${secretName} in ${vaultUri}`,
          isNotFound(e) ? 'storeUserSecret writes it; run that step first' : 'the worker needs get on secrets',
        );
      }
      if (secret.value === undefined)
        throw fatal(ErrorType.NotFound, `secret ${secretName} in ${vaultUri} has no value`);
      return secret.value;
    },
  };
}
