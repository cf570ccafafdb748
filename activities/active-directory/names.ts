/**
 * Names and DNs: RFC 4514 escaping of RDN values, the sAMAccountName limits AD enforces, and domain DN <-> DNS name.
 * Filter values never need escaping here: filters are built as ldapts Filter objects, whose values go on the wire as
 * raw bytes and are never parsed.
 */
import { ErrorType, fatal } from '../../contract/errors.js';

/** RFC 4514 section 2.4. */
export function escapeDnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

// Characters AD refuses in sAMAccountName (" / \ [ ] : ; | = , + * ? < > @), and no trailing dot.
const SAM_FORBIDDEN = /["/\\[\]:;|=,+*?<>@\s]/;

/** User names: 1-20 characters (the sAMAccountName limit of user objects). */
export function checkUserName(name: string): void {
  checkSam(name, 20, 'user');
}

/** gMSA names: 1-15 characters; the DC stores name$ (16, the NetBIOS computer name limit). */
export function checkGmsaName(name: string): void {
  if (name.endsWith('$')) {
    throw fatal(ErrorType.InvalidInput, `gMSA name "${name}": give the name without the trailing $`);
  }
  checkSam(name, 15, 'gMSA');
}

function checkSam(name: string, max: number, what: string): void {
  if (name.length === 0 || name.length > max) {
    throw fatal(
      ErrorType.InvalidInput,
      `${what} name "${name}" is ${name.length} characters long; Active Directory allows 1 to ${max}`,
    );
  }
  if (SAM_FORBIDDEN.test(name) || name.endsWith('.')) {
    throw fatal(
      ErrorType.InvalidInput,
      `${what} name "${name}" contains a character AD refuses (" / \\ [ ] : ; | = , + * ? < > @ or a space) or ends with a dot`,
    );
  }
}

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

const RDN = String.raw`[A-Za-z][A-Za-z0-9-]*=(?:[^,\\]|\\.)+`;
const RELATIVE_DN = new RegExp(`^${RDN}(?:,${RDN})*$`);

/** A container given relative to the domain (CN=Users, OU=Service Accounts,OU=Corp). */
export function checkRelativeDn(dn: string): void {
  if (!RELATIVE_DN.test(dn) || /(^|,)\s*DC=/i.test(dn)) {
    throw fatal(
      ErrorType.InvalidInput,
      `container "${dn}" must be a DN relative to the domain, for example CN=Users or OU=Service Accounts`,
    );
  }
}
