/**
 * A client for the lab DC (or any DC the AD_* settings name), for tests and benchmarks: its settings from the
 * environment (a missing one throws with its name), run-unique names, a CCG secret for a lab user, and an admin
 * connection for setting up, reading and deleting objects.
 */
import { randomBytes } from 'node:crypto';
import { Attribute, Change, EqualityFilter } from 'ldapts';
import type { ActiveDirectoryConfig } from '../../activities/active-directory.js';
import { LdapSession } from '../../activities/active-directory/ldap-session.js';
import { formatCcgSecret } from '../../domain/ccg-secret.js';
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

/** The Key Vault secret value for a lab user, in the product's one CCG format. */
export const ccgSecret = (domainFqdn: string, user: string, password: string) =>
  formatCcgSecret({ domain: domainFqdn, user, password });

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
