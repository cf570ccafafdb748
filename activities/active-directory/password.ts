/**
 * setDomainUserPassword: the AD step of a password rotation. It reads the staged password from Key Vault (through
 * the SecretReader, so it never travels through the workflow), and sets it on the standard user the way
 * ensureDomainUser resets one (unicodePwd replaced, lockout undone), only on a user of ours: the owner marker must
 * be there (nothing is adopted here) and a privileged account is refused whatever its marker says. A bind with the
 * staged password comes first and says whether AD has it already, so a retried or rerun rotation changes nothing.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Attribute, Change } from 'ldapts';
import { parseCcgSecret } from '../../domain/ccg-secret.js';
import { dateFromFileTime } from '../../domain/filetime.js';
import { encodeUnicodePwd } from '../../domain/unicode-pwd.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import type { SecretReader } from '../../contract/activities.js';
import type { DomainPasswordResult, RotationActivities, SetDomainUserPasswordInput } from '../../contract/rotation.js';
import type { Logger } from '../../config/logger.js';
import { ownerOf } from '../owner.js';
import type { ActiveDirectoryConfig } from './config.js';
import { DISABLED, SAM_USER_OBJECT } from './domain-user.js';
import { findBySam, readDomainContext, requireDomain } from './domain-context.js';
import { first, LdapSession, withSession } from './ldap-session.js';
import { checkUserName } from './names.js';
import { OWNERSHIP_ATTRIBUTES, refuseWellKnownName, standingOf } from './ownership.js';

/** sAMAccountType of a normal user account (as opposed to computers, gMSAs, groups). */

/** The staged password, checked to be this user's credential in the CCG format. */
async function readStaged(secrets: SecretReader, input: SetDomainUserPasswordInput): Promise<string> {
  const where = `secret ${input.from.secretName} in ${input.from.vaultUri}`;
  let value: string;
  try {
    value = await secrets.read(input.from.vaultUri, input.from.secretName);
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw transient(`reading ${where} failed: ${(err as Error).message}`);
  }
  const c = parseCcgSecret(value);
  if (
    !c ||
    c.user.toLowerCase() !== input.user.toLowerCase() ||
    c.domain.toLowerCase() !== input.domainFqdn.toLowerCase()
  ) {
    throw fatal(
      ErrorType.PreconditionFailed,
      `${where} does not hold ${input.domainFqdn}\\${input.user}'s staged password`,
    );
  }
  return c.password;
}

async function setPassword(
  session: LdapSession,
  config: ActiveDirectoryConfig,
  secrets: SecretReader,
  input: SetDomainUserPasswordInput,
): Promise<DomainPasswordResult> {
  checkUserName(input.user);
  refuseWellKnownName(`user ${input.user}`, input.user);
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const entry = await findBySam(session, ctx, input.user, [...OWNERSHIP_ATTRIBUTES, 'pwdLastSet']);
  if (!entry) {
    throw fatal(
      ErrorType.NotFound,
      `user ${input.user} does not exist in ${input.domainFqdn}; provision the binding again`,
    );
  }
  const what = `user ${input.user} (${entry.dn})`;
  if (first(entry, 'sAMAccountType') !== SAM_USER_OBJECT) {
    throw fatal(ErrorType.Conflict, `the name ${input.user} belongs to ${entry.dn}, which is not a user account`);
  }
  // Only ours: a rotation adopts nothing, whatever the binding's request once adopted.
  await standingOf(session, entry, 'domainUser', what, { binding: ownerOf(input).binding, adopt: [] });
  const password = await readStaged(secrets, input);

  const bind = await LdapSession.canBind(config, entry.dn, password);
  let changed = false;
  if (bind !== true && bind !== DISABLED) {
    const replace = (type: string, values: string[] | Buffer[]) =>
      new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
    await session.run(
      `setting the rotated password of ${entry.dn}`,
      (c) => c.modify(entry.dn, [replace('unicodePwd', [encodeUnicodePwd(password)]), replace('lockoutTime', ['0'])]),
      [password],
    );
    const again = await LdapSession.canBind(config, entry.dn, password);
    if (again !== true && again !== DISABLED) {
      throw fatal(
        ErrorType.PreconditionFailed,
        `${entry.dn} cannot bind with the rotated password after setting it: ${again}`,
      );
    }
    changed = true;
  }
  const read = await session.read(entry.dn, ['pwdLastSet']);
  const at = read && first(read, 'pwdLastSet');
  return {
    dn: entry.dn,
    changed,
    ...(at && at !== '0' ? { passwordLastSet: dateFromFileTime(at).toISOString() } : {}),
  };
}

export function createPasswordActivities(deps: {
  config: ActiveDirectoryConfig;
  secrets: SecretReader;
  log: Logger;
}): Pick<RotationActivities, 'setDomainUserPassword'> {
  return {
    async setDomainUserPassword(input) {
      const out = await withSession(deps.config, (s) => setPassword(s, deps.config, deps.secrets, input));
      deps.log.info(
        { system: 'ad', user: input.user, ...out },
        out.changed ? 'password rotated in AD' : 'AD has the staged password already',
      );
      return out;
    },
  };
}
