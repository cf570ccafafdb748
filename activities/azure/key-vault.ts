/**
 * Key Vault (New-GMSAAzureKeyVault): the vault in access-policy or RBAC mode, with data-plane rights for the worker
 * itself; the gMSA standard user's secret `<DOMAIN FQDN>\<user>:<password>`, whose password is generated here and
 * leaves this file only into Key Vault; and the reader the AD activities use to get it back.
 */
import type { Vault } from '@azure/arm-keyvault';
import { parseKeyVaultSecretIdentifier, type KeyVaultSecret } from '@azure/keyvault-secrets';
import type { AzureClients } from './clients.js';
import { azureCall, azureFailure, codeOf, isNotFound, statusOf } from './errors.js';
import { pollWithHeartbeat } from './poll.js';
import { formatCcgSecret, parseCcgSecret } from '../../domain/ccg-secret.js';
import { generatePassword } from './secret-format.js';
import { ensureAccessPolicy, ensureRoleAssignment, ROLE } from './vault-access.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import type {
  AzureResourceRef,
  DeleteKeyVaultInput,
  EnsureKeyVaultInput,
  KeyVaultResult,
  SecretReader,
  StoreUserSecretInput,
  UserSecretResult,
} from '../../contract/activities.js';

/** What the worker needs on the data plane to write and later read the gMSA user's secret. */
const WORKER_SECRET_PERMISSIONS = ['get', 'list', 'set', 'delete', 'recover'];

const label = (r: AzureResourceRef) => `key vault ${r.resourceGroup}/${r.name}`;

/** An SDK error without its request: a failed setSecret's request body holds the password. */
function withoutRequest(e: unknown): unknown {
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

  async function ensureKeyVault(input: EnsureKeyVaultInput): Promise<KeyVaultResult> {
    const rbac = input.accessMode === 'rbac';
    const caller = await azureCall('identify the Azure caller', () => clients.caller());
    let vault = await getVault(input);
    let created = false;
    if (vault) {
      if (Boolean(vault.properties.enableRbacAuthorization) !== rbac) {
        const mode = vault.properties.enableRbacAuthorization ? 'rbac' : 'accessPolicy';
        throw fatal(
          ErrorType.PreconditionFailed,
          `${label(input)} exists in ${mode} mode but ${input.accessMode} was requested; set options.keyVaultAccess to '${mode}' or use another vault (switching a vault's access model can lock out its other users).`,
        );
      }
      if (/^Failed$/i.test(String(vault.properties.provisioningState ?? ''))) {
        // A create whose operation ended Failed (an earlier attempt's): the same PUT again, with the vault's
        // properties as they are, is how ARM resources leave Failed; nothing it holds is replaced.
        const what = `re-apply ${label(input)} (provisioningState Failed)`;
        const { provisioningState: _p, vaultUri: _u, ...properties } = vault.properties;
        const current = vault;
        vault = await azureCall(what, () =>
          pollWithHeartbeat(
            what,
            clients
              .keyVault(input.subscriptionId)
              .vaults.createOrUpdate(
                input.resourceGroup,
                input.name,
                { location: String(current.location), tags: current.tags, properties },
                { updateIntervalInMs: clients.pollIntervalMs },
              ),
          ),
        );
      }
    } else {
      const what = `create ${label(input)}`;
      try {
        const poller = clients.keyVault(input.subscriptionId).vaults.createOrUpdate(
          input.resourceGroup,
          input.name,
          {
            location: input.location,
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
        vault = await pollWithHeartbeat(what, poller);
      } catch (e) {
        throw await createConflict(e, input);
      }
      created = true;
    }
    if (rbac) {
      await ensureRoleAssignment(
        clients,
        input.subscriptionId,
        String(vault.id),
        caller.objectId,
        ROLE.keyVaultSecretsOfficer,
        caller.principalType,
      );
    } else {
      await ensureAccessPolicy(clients, input, vault, caller.objectId, WORKER_SECRET_PERMISSIONS);
    }
    return { id: String(vault.id), vaultUri: String(vault.properties.vaultUri), created };
  }

  async function readSecret(vaultUri: string, secretName: string): Promise<KeyVaultSecret | undefined> {
    try {
      return await clients.secrets(vaultUri).getSecret(secretName);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw azureFailure(withoutRequest(e), `read secret ${secretName} in ${vaultUri}`);
    }
  }

  async function storeUserSecret(input: StoreUserSecretInput): Promise<UserSecretResult> {
    const existing = await readSecret(input.vaultUri, input.secretName);
    const versionless = (id: string) => {
      const p = parseKeyVaultSecretIdentifier(id);
      return `${p.vaultUrl.replace(/\/$/, '')}/secrets/${p.name}`;
    };
    const parsed = existing?.value ? parseCcgSecret(existing.value) : undefined;
    if (
      existing?.properties.id &&
      parsed &&
      parsed.domain.toLowerCase() === input.domainFqdn.toLowerCase() &&
      parsed.user.toLowerCase() === input.user.toLowerCase()
    ) {
      return { secretUri: versionless(existing.properties.id), created: false };
    }
    const value = formatCcgSecret({
      domain: input.domainFqdn,
      user: input.user,
      password: generatePassword(input.user),
    });
    try {
      const stored = await clients.secrets(input.vaultUri).setSecret(input.secretName, value, {
        contentType: 'text/plain',
        tags: { 'managed-by': 'aks-gmsa', user: input.user },
      });
      return { secretUri: versionless(String(stored.properties.id)), created: true };
    } catch (e) {
      const hint =
        codeOf(e) === 'Conflict'
          ? `the secret is soft-deleted: recover it (az keyvault secret recover --vault-name … --name ${input.secretName}) or purge it`
          : undefined;
      throw azureFailure(withoutRequest(e), `write secret ${input.secretName} in ${input.vaultUri}`, hint);
    }
  }

  /** Rollback: soft-deletes the vault, and purges it when asked (frees the global name at once). */
  async function deleteKeyVault(input: DeleteKeyVaultInput): Promise<{ deleted: boolean; purged: boolean }> {
    const vaults = clients.keyVault(input.subscriptionId).vaults;
    const vault = await getVault(input);
    if (vault) await azureCall(`delete ${label(input)}`, () => vaults.delete(input.resourceGroup, input.name));
    let purged = false;
    if (input.purge) {
      // Read first: after a lost reply to an earlier purge there is nothing left to purge, and no need to ask.
      const deleted = await azureCall(`get deleted ${label(input)}`, () =>
        vaults.getDeleted(input.name, input.location).catch((e: unknown) => {
          if (isNotFound(e)) return undefined;
          throw e;
        }),
      );
      if (deleted) {
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

  return { ensureKeyVault, storeUserSecret, deleteKeyVault };
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
