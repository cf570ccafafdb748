/**
 * findDomainUser / ensureDomainUser / removeDomainUser: the standard user whose password CCG reads from Key Vault.
 * One password per user (DESIGN "A shared world"): the user's marker names its canonical secret, the one the binding
 * that created (or adopted) it wrote. Only that secret is the truth AD is made to agree with; a binding holding a
 * copy never changes the password, and a foreign or privileged account is refused before any write.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Attribute, Change, type Entry } from 'ldapts';
import { sidToString } from '../../domain/sid.js';
import { encodeUnicodePwd } from '../../domain/unicode-pwd.js';
import { claim, PRODUCT, release, usedBy, type AdMarker, type Owner } from '../../domain/ownership.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import type {
  DomainUserLookup,
  DomainUserResult,
  EnsureDomainUserInput,
  FindDomainUserInput,
  RemovalResult,
  RemoveDomainUserInput,
  SecretReader,
} from '../../contract/activities.js';
import { ownerOf } from '../owner.js';
import type { ActiveDirectoryConfig } from './config.js';
import { findBySam, readDomainContext, requireDomain, type DomainContext } from './domain-context.js';
import { isAlreadyExists } from './ldap-errors.js';
import { first, firstBuffer, LdapSession } from './ldap-session.js';
import { checkRelativeDn, checkUserName, escapeDnValue } from './names.js';
import {
  markerAttribute,
  markerChange,
  markerOf,
  OWNERSHIP_ATTRIBUTES,
  refuseWellKnownName,
  remaining,
  sameSecretUri,
  secretUriOf,
  standingOf,
} from './ownership.js';
import { parseCcgSecret } from '../../domain/ccg-secret.js';

const UF_ACCOUNTDISABLE = 0x2;
const UF_NORMAL_ACCOUNT = 0x200;
const UF_DONT_EXPIRE_PASSWD = 0x10000;
/** sAMAccountType of a normal user account (as opposed to computers, gMSAs, groups). */
export const SAM_USER_OBJECT = '805306368';
/** The DC says so only when the password was right (Samba and Windows check the password first). */
export const DISABLED = 'the account is disabled';
const USER_ATTRIBUTES = [...OWNERSHIP_ATTRIBUTES, 'userAccountControl'];

async function readPassword(secrets: SecretReader, input: EnsureDomainUserInput): Promise<string> {
  const where = `secret ${input.secret.secretName} in ${input.secret.vaultUri}`;
  let value: string;
  try {
    value = await secrets.read(input.secret.vaultUri, input.secret.secretName);
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw transient(`reading ${where} failed: ${(err as Error).message}`);
  }
  const credential = parseCcgSecret(value);
  if (!credential) {
    throw fatal(ErrorType.InvalidInput, `${where} is not in the DOMAIN\\user:password format the CCG plugin reads`);
  }
  if (credential.user.toLowerCase() !== input.user.toLowerCase()) {
    throw fatal(ErrorType.InvalidInput, `${where} holds a credential for ${credential.user}, not ${input.user}`);
  }
  if (credential.domain.toLowerCase() !== input.domainFqdn.toLowerCase()) {
    throw fatal(
      ErrorType.InvalidInput,
      `${where} names domain ${credential.domain}; it must be the FQDN ${input.domainFqdn} (a NetBIOS name makes CCG fall back to NTLM)`,
    );
  }
  return credential.password;
}

function requireUser(user: string, entry: Entry): void {
  if (first(entry, 'sAMAccountType') !== SAM_USER_OBJECT) {
    throw fatal(ErrorType.Conflict, `the name ${user} belongs to ${entry.dn}, which is not a user account`);
  }
}

/** What an existing entry of this name is to `owner`; refuses (no write) a non-user, a privileged or a foreign one. */
async function classify(session: LdapSession, user: string, entry: Entry, owner: Owner) {
  requireUser(user, entry);
  return standingOf(session, entry, 'domainUser', `user ${user} (${entry.dn})`, owner);
}

/** The checks every step starts with; the user's entry and its standing when it exists. */
async function lookUp(session: LdapSession, input: FindDomainUserInput, owner: Owner) {
  checkUserName(input.user);
  refuseWellKnownName(`user ${input.user}`, input.user);
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const entry = await findBySam(session, ctx, input.user, USER_ATTRIBUTES);
  return { ctx, entry, standing: entry && (await classify(session, input.user, entry, owner)) };
}

export async function findDomainUser(session: LdapSession, input: FindDomainUserInput): Promise<DomainUserLookup> {
  const { entry, standing } = await lookUp(session, input, ownerOf(input));
  if (!entry || !standing) return {};
  if (standing.ownership === 'adopted') return { existing: { dn: entry.dn, ownership: 'adopted' } };
  const canonical = standing.marker.secretUri;
  return { existing: { dn: entry.dn, ownership: 'ours', ...(canonical ? { canonicalSecretUri: canonical } : {}) } };
}

const replace = (type: string, values: string[] | Buffer[]) =>
  new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

/** A new password, and the lockout a wrong one caused undone. */
const passwordReset = (password: string) => [
  replace('unicodePwd', [encodeUnicodePwd(password)]),
  replace('lockoutTime', ['0']),
];

async function createUser(
  session: LdapSession,
  ctx: DomainContext,
  dn: string,
  input: EnsureDomainUserInput,
  password: string,
  marker: AdMarker,
): Promise<boolean> {
  return session.run(
    `creating user ${dn}`,
    async (c) => {
      try {
        await c.add(dn, [
          new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
          new Attribute({ type: 'cn', values: [input.user] }),
          new Attribute({ type: 'sAMAccountName', values: [input.user] }),
          new Attribute({ type: 'userPrincipalName', values: [`${input.user}@${ctx.dnsName}`] }),
          // A binary UTF-16LE value: a JS string would be sent as UTF-8 and refused.
          new Attribute({ type: 'unicodePwd', values: [encodeUnicodePwd(password)] }),
          // Password never expires: an expired password makes CCG fail silently on every node.
          new Attribute({ type: 'userAccountControl', values: [String(UF_NORMAL_ACCOUNT | UF_DONT_EXPIRE_PASSWD)] }),
          // In the add itself: a user whose creator dies before it reports is still marked ours.
          markerAttribute(marker),
        ]);
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false; // a concurrent run made it: converge below
        throw err;
      }
    },
    [password],
  );
}

export async function ensureDomainUser(
  session: LdapSession,
  config: ActiveDirectoryConfig,
  secrets: SecretReader,
  input: EnsureDomainUserInput,
): Promise<DomainUserResult> {
  const owner = ownerOf(input);
  const container = input.container ?? config.userContainer ?? 'CN=Users';
  checkRelativeDn(container);
  // Re-checked here, whatever findDomainUser said: the directory may have changed since.
  const found = await lookUp(session, input, owner);
  const { ctx } = found;
  let { entry, standing } = found;
  const password = await readPassword(secrets, input);
  const mine = secretUriOf(input.secret);

  // A user found elsewhere in the domain (moved by an admin) is used where it is: sAMAccountName is the identity.
  let created = false;
  if (!entry) {
    const dn = `CN=${escapeDnValue(input.user)},${container},${ctx.baseDn}`;
    created = await createUser(session, ctx, dn, input, password, {
      ...claim(undefined, owner.binding, true),
      secretUri: mine,
    });
    entry = await findBySam(session, ctx, input.user, USER_ATTRIBUTES);
    if (!entry) throw transient(`user ${input.user} is not visible yet after creating it`);
    standing = created
      ? { ownership: 'ours', marker: markerOf(entry)! }
      : await classify(session, input.user, entry, owner);
  }
  const dn = entry.dn;
  const sidBytes = firstBuffer(entry, 'objectSid');
  if (!sidBytes) throw fatal(ErrorType.PreconditionFailed, `${dn} has no objectSid`);
  const result = { dn, sid: sidToString(sidBytes), created };

  const uac = Number(first(entry, 'userAccountControl') ?? UF_NORMAL_ACCOUNT);
  const wanted = (uac | UF_DONT_EXPIRE_PASSWD) & ~UF_ACCOUNTDISABLE;
  // Enabled, password never expiring: an expired or disabled account makes CCG fail silently on every node.
  const enable = wanted !== uac ? [replace('userAccountControl', [String(wanted)])] : [];

  if (standing!.ownership === 'adopted') {
    // The caller vouches for it: its password becomes this binding's secret, which becomes its canonical one.
    const marker: AdMarker = { ...claim(undefined, owner.binding, false), secretUri: mine };
    await session.run(
      `adopting ${dn}: resetting its password to the one in Key Vault and marking it`,
      (c) => c.modify(dn, [...enable, ...passwordReset(password), markerChange(marker)]),
      [password],
    );
    await requireBind(config, dn, password);
    return { ...result, passwordReset: true, adopted: true };
  }

  const marker = standing!.marker;
  const claimed = usedBy(marker, owner.binding)
    ? []
    : [markerChange({ ...marker, ...claim(marker, owner.binding, false) })];
  const changes: Change[] = [...enable, ...claimed];
  let reset = false;
  if (!created) {
    const bind = await LdapSession.canBind(config, dn, password);
    if (bind !== true && bind !== DISABLED) {
      if (!sameSecretUri(marker.secretUri, mine)) throw copyDoesNotBind(input, dn, mine, marker, bind);
      // This binding's secret is the canonical one: make AD agree with what the nodes read (a repair).
      changes.push(...passwordReset(password));
      reset = true;
    }
  }
  if (changes.length > 0) {
    await session.run(
      reset ? `resetting the password of ${dn} to the one in Key Vault` : `updating ${dn}`,
      (c) => c.modify(dn, changes),
      [password],
    );
  }
  if (reset || (!created && enable.length > 0)) await requireBind(config, dn, password);
  return { ...result, passwordReset: reset };
}

async function requireBind(config: ActiveDirectoryConfig, dn: string, password: string): Promise<void> {
  const bind = await LdapSession.canBind(config, dn, password);
  if (bind !== true)
    throw fatal(ErrorType.PreconditionFailed, `${dn} cannot bind with the password in Key Vault: ${bind}`);
}

/** A binding holding a copy of the password never changes it: either the copy is stale or the canonical one is. */
function copyDoesNotBind(input: EnsureDomainUserInput, dn: string, mine: string, marker: AdMarker, why: string) {
  const canonical = marker.secretUri ?? 'the canonical secret (its marker names none)';
  return fatal(
    ErrorType.Conflict,
    `user ${input.user} (${dn}) is ${PRODUCT}'s and its password lives in ${canonical}; the copy in ${mine} does not ` +
      `match AD (${why}). Only the canonical secret sets the password, so nothing was changed: run rotate-password ` +
      `for ${input.user}, or fix ${canonical} so AD takes it, then run again`,
  );
}

export async function removeDomainUser(
  session: LdapSession,
  config: ActiveDirectoryConfig,
  input: RemoveDomainUserInput,
): Promise<RemovalResult> {
  const owner = ownerOf(input);
  checkUserName(input.user);
  const container = input.container ?? config.userContainer ?? 'CN=Users';
  checkRelativeDn(container);
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const entry = await findBySam(session, ctx, input.user, USER_ATTRIBUTES);
  if (!entry) return { removed: false };
  // Not a user, not ours, or not used by this binding: whatever an attempt reported, it is not ours to remove.
  const marker = first(entry, 'sAMAccountType') === SAM_USER_OBJECT ? markerOf(entry) : undefined;
  if (!usedBy(marker, owner.binding)) return { dn: entry.dn, removed: false };
  const next = release(marker, owner.binding);
  if (next.action === 'foreign') return { dn: entry.dn, removed: false };
  if (next.action === 'release') {
    await session.run(`releasing ${entry.dn} from binding ${owner.binding}`, (c) =>
      c.modify(entry.dn, markerChange(remaining(marker!, next.next))),
    );
    return { dn: entry.dn, removed: false };
  }
  // Only the user this product made (in the container it was told): never someone else's namesake elsewhere.
  if (!entry.dn.toLowerCase().endsWith(`,${container},${ctx.baseDn}`.toLowerCase())) {
    throw fatal(ErrorType.Conflict, `user ${input.user} is ${entry.dn}, outside ${container}; not removing it`);
  }
  await session.run(`deleting user ${entry.dn}`, (c) => c.del(entry.dn));
  return { dn: entry.dn, removed: true };
}
