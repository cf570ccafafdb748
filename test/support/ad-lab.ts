/**
 * What the AD integration tests share: the lab DC's settings from the environment (a missing one fails the test
 * with its name, never skips it), run-unique names, and an admin connection for setting up and checking objects.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { AlreadyExistsError, Attribute, Change, EqualityFilter } from 'ldapts';
import type { ActiveDirectoryConfig } from '../../activities/active-directory.js';
import { LdapSession } from '../../activities/active-directory/ldap-session.js';
import { readActiveDirectoryConfig } from '../../worker/config/active-directory.js';

export interface AdLab {
  config: ActiveDirectoryConfig;
  domainFqdn: string;
}

const REQUIRED = ['AD_URL', 'AD_BIND_USER', 'AD_CA_FILE', 'AD_DOMAIN_FQDN'] as const;

/** Throws, naming the variable, when a setting the lab DC exports is missing. */
export function adLabFromEnv(env: NodeJS.ProcessEnv = process.env): AdLab {
  for (const name of REQUIRED) {
    if (!env[name]) {
      throw new Error(
        `${name} is not set: start the lab DC (tsx lab/samba/cli.ts start, as root) and export its settings`,
      );
    }
  }
  if (!env.AD_BIND_PASSWORD && !env.AD_BIND_PASSWORD_FILE) {
    throw new Error('AD_BIND_PASSWORD (or AD_BIND_PASSWORD_FILE) is not set: export the lab DC settings');
  }
  const config = readActiveDirectoryConfig(env);
  if (!config) throw new Error('AD_URL is not set');
  return { config, domainFqdn: env.AD_DOMAIN_FQDN! };
}

/** A short name unique to this run, within AD's limits (prefix + 6 characters). */
export const uniqueName = (prefix: string) => `${prefix}${randomBytes(4).readUInt32LE(0).toString(36).slice(0, 6)}`;

/** A password the default domain policy accepts (length, three character classes), with a colon to prove parsing. */
export const strongPassword = () => `Pw:${randomBytes(12).toString('base64url')}-9aZ!`;

export const vaultUri = 'https://kv-gmsa-test.vault.example.test';

export const ccgSecret = (domainFqdn: string, user: string, password: string) => `${domainFqdn}\\${user}:${password}`;

/** Bound as the lab's admin (or `user`), over the same verified TLS as the product. */
export function connect(lab: AdLab, user = lab.config.bindUser, password = lab.config.bindPassword) {
  return LdapSession.open(lab.config, user, password);
}

export async function readEntry(lab: AdLab, dn: string, attributes: string[]) {
  const s = await connect(lab);
  try {
    return await s.read(dn, attributes);
  } finally {
    await s.close();
  }
}

export function baseDn(lab: AdLab): string {
  return `DC=${lab.domainFqdn.split('.').join(',DC=')}`;
}

export async function deleteIfPresent(lab: AdLab, dn: string): Promise<void> {
  const s = await connect(lab);
  try {
    if (await s.read(dn, ['cn'])) await s.client.del(dn);
  } finally {
    await s.close();
  }
}

/** Deletes whatever account has this sAMAccountName (cleanup between runs). */
export async function deleteBySam(lab: AdLab, sam: string): Promise<void> {
  const s = await connect(lab);
  try {
    const found = await s.search(baseDn(lab), new EqualityFilter({ attribute: 'sAMAccountName', value: sam }), ['cn']);
    for (const e of found) await s.client.del(e.dn);
  } finally {
    await s.close();
  }
}

export async function replaceAttribute(lab: AdLab, dn: string, type: string, values: Buffer[] | string[]) {
  const s = await connect(lab);
  try {
    await s.client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values }) }));
  } finally {
    await s.close();
  }
}

/**
 * Runs `body` holding a lock that lives in the directory itself (an entry only one client can add), so tests of one
 * forest-wide thing (the KDS root keys every DC picks from) never overlap, whichever process or checkout runs them
 * against this DC. A lock older than `staleMs` is a crashed holder's and is taken over.
 */
export async function withDirectoryLock<T>(
  lab: AdLab,
  name: string,
  body: () => Promise<T>,
  { timeoutMs = 120_000, staleMs = 600_000 }: { timeoutMs?: number; staleMs?: number } = {},
): Promise<T> {
  const dn = `CN=${name},CN=Users,${baseDn(lab)}`;
  const holder = `${os.hostname()} pid ${process.pid} at ${Date.now()}`;
  const deadline = Date.now() + timeoutMs;
  const s = await connect(lab);
  try {
    for (;;) {
      try {
        await s.client.add(dn, [
          new Attribute({ type: 'objectClass', values: ['top', 'container'] }),
          new Attribute({ type: 'description', values: [holder] }),
        ]);
        break;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
      const held = String((await s.read(dn, ['description']))?.description ?? '');
      const since = Number(/ at (\d+)$/.exec(held)?.[1]);
      if (Number.isFinite(since) && Date.now() - since > staleMs) {
        // A crashed holder's lock, taken over in one modify that fails if someone else changed it first.
        const takeover = await s.client
          .modify(dn, [
            new Change({ operation: 'delete', modification: new Attribute({ type: 'description', values: [held] }) }),
            new Change({ operation: 'add', modification: new Attribute({ type: 'description', values: [holder] }) }),
          ])
          .then(
            () => true,
            () => false,
          );
        if (takeover) break;
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${dn} still held after ${timeoutMs} ms, by ${held}`);
      await delay(200);
    }
  } finally {
    await s.close();
  }
  try {
    return await body();
  } finally {
    const r = await connect(lab);
    try {
      // Only our own lock: one taken over as stale must not be removed from under its new holder.
      if (String((await r.read(dn, ['description']))?.description ?? '') === holder) await r.client.del(dn);
    } finally {
      await r.close();
    }
  }
}
