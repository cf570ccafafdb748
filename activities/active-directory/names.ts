/**
 * Names and DNs: RFC 4514 escaping of RDN values, the name rules of domain/naming.ts (the ones the API checks
 * first, so a request it accepts is never refused here) and domain DN <-> DNS name.
 * Filter values never need escaping here: filters are built as ldapts Filter objects, whose values go on the wire as
 * raw bytes and are never parsed.
 */
import { ErrorType, fatal } from '../../contract/errors.js';
import { GMSA_NAME, nameProblem, RELATIVE_DN, USER_NAME, type NameRule } from '../../domain/naming.js';

/** RFC 4514 section 2.4. */
export function escapeDnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** Refuses, non-retryably and before any LDAP call, a name that breaks its rule. */
function check(rule: NameRule, name: string): void {
  const problem = nameProblem(rule, name);
  if (problem) throw fatal(ErrorType.InvalidInput, `${rule.what} "${name}" ${problem}`);
}

/** The standard user's sAMAccountName: 1-20 characters, no trailing $ or dot, not a built-in account. */
export const checkUserName = (name: string): void => check(USER_NAME, name);

/** gMSA names: 1-15 characters without the $ (the DC stores name$, 16: the NetBIOS computer name limit). */
export const checkGmsaName = (name: string): void => check(GMSA_NAME, name);

/** A container given relative to the domain (CN=Users, OU=Service Accounts,OU=Corp). */
export const checkRelativeDn = (dn: string): void => check(RELATIVE_DN, dn);

/** DC=contoso,DC=com -> contoso.com */
export function dnToDnsName(dn: string): string {
  return dn
    .split(',')
    .map((rdn) => rdn.trim())
    .filter((rdn) => /^dc=/i.test(rdn))
    .map((rdn) => rdn.slice(3))
    .join('.')
    .toLowerCase();
}
