/**
 * The Key Vault side of a password rotation: stage a new password in the canonical vault, copy it as a new version
 * to every secret that holds the user's credential, and drop the staging secret. The password is generated here
 * (as storeUserSecret generates one) and moves only between Key Vault data planes inside these activities; results
 * name secrets and versions.
 *
 * The staging secret `<canonical secret>-next` is what makes a rotation idempotent: its value is the password of the
 * rotation under way, so a retried or rerun rotation finds it and never makes a second one. It counts as under way
 * while its value differs from the canonical secret's, which is written last (after AD and every other vault): once
 * the canonical one holds it, it is a finished rotation's, and the next rotation stages a new password over it.
 */
import { type KeyVaultSecret, type SecretClient } from '@azure/keyvault-secrets';
import { formatCcgSecret, parseCcgSecret } from '../../domain/ccg-secret.js';
import { ownershipFromTags } from '../../domain/ownership.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import type {
  DomainUserRef,
  PublishedVersion,
  RotationActivities,
  SecretRef,
  SkippedSecret,
  StagedPassword,
} from '../../contract/rotation.js';
import { ownerOf } from '../owner.js';
import type { AzureClients } from './clients.js';
import { azureFailure, codeOf, isNotFound, statusOf } from './errors.js';
import { withoutRequest } from './key-vault.js';
import { generatePassword } from './secret-format.js';
import { createdTags } from './tags.js';

/** On the staging secret: the secret whose next password it holds (names ours apart from a namesake's). */
export const STAGED_FOR_TAG = 'gmsa-staged-for';
export const stagedName = (secretName: string) => `${secretName}-next`;

const uriOf = (r: SecretRef) => `${r.vaultUri.replace(/\/+$/, '')}/secrets/${r.secretName}`;
const label = (r: SecretRef) => `secret ${r.secretName} in ${r.vaultUri}`;

/** The value is this user's credential in the CCG plugin's format. */
function holdsUser(value: string | undefined, u: DomainUserRef): boolean {
  const c = value ? parseCcgSecret(value) : undefined;
  return (
    c !== undefined &&
    c.domain.toLowerCase() === u.domainFqdn.toLowerCase() &&
    c.user.toLowerCase() === u.user.toLowerCase()
  );
}

export function createSecretVersionActivities(
  clients: AzureClients,
): Pick<RotationActivities, 'stageUserPassword' | 'publishUserPassword' | 'dropStagedPassword'> {
  const client = (r: SecretRef): SecretClient => clients.secrets(r.vaultUri);

  /** The secret, or undefined when it does not exist (deleted ones included). */
  async function read(r: SecretRef, hint: string): Promise<KeyVaultSecret | undefined> {
    try {
      return await client(r).getSecret(r.secretName);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw azureFailure(withoutRequest(e), `read ${label(r)}`, statusOf(e) === 403 ? hint : '');
    }
  }

  /** Why a listed secret is left alone; undefined when it is ours and holds this user's credential. */
  function unusable(secret: KeyVaultSecret | undefined, u: DomainUserRef): string | undefined {
    if (!secret) return 'it no longer exists';
    if (!ownershipFromTags(secret.properties.tags)) return "it is not marked as aks-gmsa's";
    if (!holdsUser(secret.value, u)) return `it does not hold ${u.domainFqdn}\\${u.user}'s credential`;
    return undefined;
  }

  async function write(r: SecretRef, value: string, tags: Record<string, string>, contentType?: string) {
    try {
      return await client(r).setSecret(r.secretName, value, { contentType: contentType ?? 'text/plain', tags });
    } catch (e) {
      throw azureFailure(
        withoutRequest(e),
        `write ${label(r)}`,
        statusOf(e) === 403 ? 'the worker needs set on secrets' : '',
      );
    }
  }

  /** A staging secret left soft-deleted by a drop that could not purge: recovered, so it can take a new version. */
  async function recoverStaged(r: SecretRef): Promise<void> {
    try {
      await (await client(r).beginRecoverDeletedSecret(r.secretName)).pollUntilDone();
    } catch (e) {
      throw azureFailure(
        withoutRequest(e),
        `recover the soft-deleted ${label(r)}`,
        `purge it (az keyvault secret purge --vault-name … --name ${r.secretName}) or give the worker recover on secrets`,
      );
    }
  }

  async function stageUserPassword(input: Parameters<RotationActivities['stageUserPassword']>[0]) {
    const owner = ownerOf(input);
    const hint = 'the worker needs get on secrets there to rotate the password; nothing was changed';
    // Every listed secret is checked before anything is written, so a vault the rotation could not read fails it
    // while AD still has the old password.
    const usable: SecretRef[] = [];
    const current = new Map<string, string>();
    const skipped: SkippedSecret[] = [];
    for (const r of input.candidates) {
      const secret = await read(r, hint);
      const why = unusable(secret, input);
      if (why) skipped.push({ secretUri: uriOf(r), reason: why });
      else {
        usable.push(r);
        current.set(uriOf(r), secret!.value!);
      }
    }
    const canonical = usable[0];
    if (!canonical) {
      throw fatal(
        ErrorType.NotFound,
        `no vault holds ${input.domainFqdn}\\${input.user}'s secret any more (${skipped.map((s) => `${s.secretUri}: ${s.reason}`).join('; ')}); ` +
          'provision the binding again before rotating its password',
      );
    }
    const staged: SecretRef = { vaultUri: canonical.vaultUri, secretName: stagedName(canonical.secretName) };
    const targets = [...usable.slice(1), canonical];
    const result = (created: boolean): StagedPassword => ({ canonical, staged, created, targets, skipped });

    const existing = await read(staged, hint);
    if (existing) {
      const tags = existing.properties.tags;
      if (!ownershipFromTags(tags) || tags?.[STAGED_FOR_TAG] !== canonical.secretName) {
        throw fatal(
          ErrorType.Conflict,
          `${label(staged)} exists and is not the staging secret of aks-gmsa's rotation of ${canonical.secretName}; ` +
            'nothing was changed. Rename or delete it, then rotate again',
        );
      }
      // A rotation under way (AD may hold it already): keep it, never make a second password.
      if (holdsUser(existing.value, input) && existing.value !== current.get(uriOf(canonical))) return result(false);
    }
    const value = formatCcgSecret({
      domain: input.domainFqdn,
      user: input.user,
      password: generatePassword(input.user),
    });
    const tags = createdTags(owner, { user: input.user, [STAGED_FOR_TAG]: canonical.secretName });
    try {
      await client(staged).setSecret(staged.secretName, value, { contentType: 'text/plain', tags });
    } catch (e) {
      // Soft-deleted by the last rotation's drop (the worker could not purge it): recover it, then write.
      if (statusOf(e) !== 409 || codeOf(e) !== 'Conflict')
        throw azureFailure(withoutRequest(e), `write ${label(staged)}`);
      await recoverStaged(staged);
      await write(staged, value, tags);
    }
    return result(true);
  }

  async function publishUserPassword(input: Parameters<RotationActivities['publishUserPassword']>[0]) {
    const from = await read(input.from, 'the worker needs get on secrets');
    if (!from?.value || !holdsUser(from.value, input) || !ownershipFromTags(from.properties.tags)) {
      throw fatal(
        ErrorType.PreconditionFailed,
        `${label(input.from)} does not hold a staged password for ${input.user} (a finished rotation dropped it?); rotate again`,
      );
    }
    const versions: PublishedVersion[] = [];
    for (const r of input.to) {
      const secret = await read(r, 'the worker needs get on secrets');
      const why = unusable(secret, input);
      if (why) {
        versions.push({ secretUri: uriOf(r), changed: false, skipped: why });
        continue;
      }
      if (secret!.value === from.value) {
        versions.push({ secretUri: uriOf(r), version: secret!.properties.version, changed: false });
        continue;
      }
      // Tags belong to a version in Key Vault: the new version carries the marks the current one has.
      const stored = await write(r, from.value, secret!.properties.tags ?? {}, secret!.properties.contentType);
      versions.push({ secretUri: uriOf(r), version: stored.properties.version, changed: true });
    }
    return { versions };
  }

  async function dropStagedPassword(input: Parameters<RotationActivities['dropStagedPassword']>[0]) {
    const r = input.staged;
    const secret = await read(r, 'the worker needs get on secrets');
    if (!secret) return { deleted: false, purged: false };
    if (!ownershipFromTags(secret.properties.tags) || !secret.properties.tags?.[STAGED_FOR_TAG]) {
      throw fatal(ErrorType.Conflict, `${label(r)} is not a staging secret of aks-gmsa's; it was left as it is`);
    }
    try {
      await (await client(r).beginDeleteSecret(r.secretName)).pollUntilDone();
    } catch (e) {
      if (isNotFound(e)) return { deleted: false, purged: false };
      throw azureFailure(withoutRequest(e), `delete ${label(r)}`);
    }
    // Purged when the worker may, so the name is free; else it stays soft-deleted and the next stage recovers it.
    const purged = await client(r)
      .purgeDeletedSecret(r.secretName)
      .then(
        () => true,
        (e: unknown) => {
          if (statusOf(e) === 403 || isNotFound(e)) return false;
          throw azureFailure(withoutRequest(e), `purge ${label(r)}`);
        },
      );
    return { deleted: true, purged };
  }

  return { stageUserPassword, publishUserPassword, dropStagedPassword };
}
