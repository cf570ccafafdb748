/** What every AD activity needs first: the naming contexts from the rootDSE, and a check that the DC serves the domain the request names. */
import { AndFilter, EqualityFilter } from 'ldapts';
import { ErrorType, fatal } from '../../contract/errors.js';
import type { LdapSession } from './ldap-session.js';
import { first } from './ldap-session.js';
import { dnToDnsName } from './names.js';

export interface DomainContext {
  baseDn: string;
  configDn: string;
  rootDomainDn: string;
  /** DN of the DC's server object in the configuration NC. */
  serverName: string;
  dnsName: string;
}

export async function readDomainContext(session: LdapSession): Promise<DomainContext> {
  const [root] = await session.search(
    '',
    '(objectClass=*)',
    ['defaultNamingContext', 'configurationNamingContext', 'rootDomainNamingContext', 'serverName'],
    'base',
  );
  const baseDn = root && first(root, 'defaultNamingContext');
  const configDn = root && first(root, 'configurationNamingContext');
  if (!root || !baseDn || !configDn) {
    throw fatal(
      ErrorType.PreconditionFailed,
      'the LDAP server did not return AD naming contexts: is it a domain controller?',
    );
  }
  return {
    baseDn,
    configDn,
    rootDomainDn: first(root, 'rootDomainNamingContext') ?? baseDn,
    serverName: first(root, 'serverName') ?? '',
    dnsName: dnToDnsName(baseDn),
  };
}

/** Refuses to act on a domain other than the one the configured DC serves. */
export function requireDomain(ctx: DomainContext, domainFqdn: string): void {
  if (ctx.dnsName !== domainFqdn.trim().toLowerCase()) {
    throw fatal(
      ErrorType.InvalidInput,
      `the request names domain ${domainFqdn}, but the configured domain controller (AD_URL) serves ${ctx.dnsName}`,
    );
  }
}

/** The crossRef of a naming context: its NetBIOS and DNS names. */
export async function readCrossRef(
  session: LdapSession,
  ctx: DomainContext,
  ncDn: string,
): Promise<{ netbiosName?: string; dnsRoot?: string }> {
  const [ref] = await session.search(
    `CN=Partitions,${ctx.configDn}`,
    new AndFilter({
      filters: [
        new EqualityFilter({ attribute: 'objectClass', value: 'crossRef' }),
        new EqualityFilter({ attribute: 'nCName', value: ncDn }),
      ],
    }),
    ['nETBIOSName', 'dnsRoot'],
    'one',
  );
  return { netbiosName: ref && first(ref, 'nETBIOSName'), dnsRoot: ref && first(ref, 'dnsRoot') };
}

/** The account with this sAMAccountName anywhere in the domain (the name is unique domain-wide). */
export async function findBySam(session: LdapSession, ctx: DomainContext, sam: string, attributes: string[]) {
  const [entry] = await session.search(ctx.baseDn, new EqualityFilter({ attribute: 'sAMAccountName', value: sam }), [
    'sAMAccountType',
    'objectClass',
    ...attributes,
  ]);
  return entry;
}
