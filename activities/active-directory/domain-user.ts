/**
 * ensureDomainUser / removeDomainUser: the standard user whose password CCG reads from Key Vault. The password comes
 * from the secret storeUserSecret wrote; AD is made to agree with it, never the other way round.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Attribute, Change } from 'ldapts';
import { sidToString } from '../../domain/sid.js';
import { encodeUnicodePwd } from '../../domain/unicode-pwd.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import type { DomainUserResult, EnsureDomainUserInput, SecretReader } from '../../contract/activities.js';
import type { ActiveDirectoryConfig } from './config.js';
import { findBySam, readDomainContext, requireDomain } from './domain-context.js';
import { isAlreadyExists } from './ldap-errors.js';
import { first, firstBuffer, LdapSession } from './ldap-session.js';
import { checkRelativeDn, checkUserName, escapeDnValue } from './names.js';
import { parseCcgSecret } from '../../domain/ccg-secret.js';

const UF_ACCOUNTDISABLE = 0x2;
const UF_NORMAL_ACCOUNT = 0x200;
const UF_DONT_EXPIRE_PASSWD = 0x10000;
/** sAMAccountType of a normal user account (as opposed to computers, gMSAs, groups). */
const SAM_USER_OBJECT = '805306368';

import type { RemovalResult, RemoveDomainUserInput } from '../../contract/activities.js';

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

export async function ensureDomainUser(
  session: LdapSession,
  config: ActiveDirectoryConfig,
  secrets: SecretReader,
  input: EnsureDomainUserInput,
): Promise<DomainUserResult> {
  checkUserName(input.user);
  const container = input.container ?? config.userContainer ?? 'CN=Users';
  checkRelativeDn(container);
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const password = await readPassword(secrets, input);
  const dn = `CN=${escapeDnValue(input.user)},${container},${ctx.baseDn}`;

  // A user found elsewhere in the domain (moved by an admin) is used where it is: sAMAccountName is the identity.
  let created = false;
  if (!(await findBySam(session, ctx, input.user, []))) {
    created = await session.run(
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

  const entry = await findBySam(session, ctx, input.user, ['objectSid', 'userAccountControl']);
  if (!entry) throw transient(`user ${input.user} is not visible yet after creating it`);
  if (first(entry, 'sAMAccountType') !== SAM_USER_OBJECT) {
    throw fatal(ErrorType.Conflict, `the name ${input.user} belongs to ${entry.dn}, which is not a user account`);
  }
  const uac = Number(first(entry, 'userAccountControl') ?? UF_NORMAL_ACCOUNT);
  const wanted = (uac | UF_DONT_EXPIRE_PASSWD) & ~UF_ACCOUNTDISABLE;
  if (wanted !== uac) {
    await session.run(`enabling ${entry.dn} with a never-expiring password`, (c) =>
      c.modify(
        entry.dn,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: [String(wanted)] }),
        }),
      ),
    );
  }

  let passwordReset = false;
  if (!created) {
    const bind = await LdapSession.canBind(config, entry.dn, password);
    if (bind !== true) {
      // The secret is the truth: make AD agree with what the nodes will read (and undo a lockout it caused).
      await session.run(
        `resetting the password of ${entry.dn} to the one in Key Vault`,
        (c) =>
          c.modify(entry.dn, [
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'unicodePwd', values: [encodeUnicodePwd(password)] }),
            }),
            new Change({ operation: 'replace', modification: new Attribute({ type: 'lockoutTime', values: ['0'] }) }),
          ]),
        [password],
      );
      passwordReset = true;
      const again = await LdapSession.canBind(config, entry.dn, password);
      if (again !== true) {
        throw fatal(ErrorType.PreconditionFailed, `${entry.dn} still cannot bind after the password reset: ${again}`);
      }
    }
  }
  const sid = firstBuffer(entry, 'objectSid');
  if (!sid) throw fatal(ErrorType.PreconditionFailed, `${entry.dn} has no objectSid`);
  return { dn: entry.dn, sid: sidToString(sid), created, passwordReset };
}

export async function removeDomainUser(
  session: LdapSession,
  config: ActiveDirectoryConfig,
  input: RemoveDomainUserInput,
): Promise<RemovalResult> {
  checkUserName(input.user);
  const container = input.container ?? config.userContainer ?? 'CN=Users';
  checkRelativeDn(container);
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const entry = await findBySam(session, ctx, input.user, []);
  if (!entry) return { removed: false };
  if (first(entry, 'sAMAccountType') !== SAM_USER_OBJECT) {
    throw fatal(ErrorType.Conflict, `the name ${input.user} belongs to ${entry.dn}, which is not a user account`);
  }
  // Only the user this product made (in the container it was told): never someone else's namesake elsewhere.
  if (!entry.dn.toLowerCase().endsWith(`,${container},${ctx.baseDn}`.toLowerCase())) {
    throw fatal(ErrorType.Conflict, `user ${input.user} is ${entry.dn}, outside ${container}; not removing it`);
  }
  await session.run(`deleting user ${entry.dn}`, (c) => c.del(entry.dn));
  return { dn: entry.dn, removed: true };
}
