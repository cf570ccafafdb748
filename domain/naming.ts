/**
 * Every rule a name must meet before a step may use it, defined once: the request schema takes each rule's pattern
 * and lengths (the API answers 400 on the field, OpenAPI documents it), parseProvisionRequest runs nameProblem on
 * every name field, and the activities run the same nameProblem before touching anything. So a name the API accepts
 * is never refused by a step halfway through a run.
 */
import { isWellKnownAccount } from './privileged.js';

export interface NameRule {
  /** What the name is, for messages: `gMSA name "svc$" must be …`. */
  readonly what: string;
  /** The sentence after "must be" (the schema's x-rule). */
  readonly rule: string;
  /** Whose limit it is, for the length message: `is 16 characters long; Active Directory allows 1 to 15`. */
  readonly by: string;
  /** In Unicode code points, as the JSON schema counts. */
  readonly minLength?: number;
  readonly maxLength?: number;
  /** An ECMAScript pattern, matched with the `u` flag as the JSON schema matches it. */
  readonly pattern: string;
  /**
   * Checked first: what no case-sensitive pattern can say, or a mistake worth its own sentence (`must …`, to
   * follow the name), undefined when the name passes.
   */
  readonly refuse?: (name: string) => string | undefined;
}

// Characters AD refuses in a sAMAccountName (" / \ [ ] : ; | = , + * ? < > @), spaces and control characters.
const SAM_CHAR = String.raw`[^"/\\\[\]:;|=,+*?<>@\s\x00-\x1f`;
const SAM_REFUSED = String.raw`no spaces or " / \ [ ] : ; | = , + * ? < > @`;

/** sAMAccountName characters, not ending in a dot (AD refuses it) or a $ (the mark of a machine account). */
export const SAM_PATTERN = `^${SAM_CHAR}]*${SAM_CHAR}.$]$`;
/** A gMSA name has no $ at all: AD adds the one of its sAMAccountName, and the name is also its DNS host label. */
export const GMSA_NAME_PATTERN = `^${SAM_CHAR}$]*${SAM_CHAR}.$]$`;

const wellKnown = (name: string) =>
  isWellKnownAccount(name)
    ? 'must not be a built-in account of the domain (Administrator, Guest, krbtgt, …), which this product never touches, whatever options.adopt says'
    : undefined;
const NOT_WELL_KNOWN = 'not a built-in account (Administrator, Guest, krbtgt, DefaultAccount, WDAGUtilityAccount)';

/**
 * 15 characters: the gMSA's sAMAccountName is name$ and NetBIOS computer names stop at 15. No $ at all: AD adds
 * the one of its account, and the name is also the gMSA's DNS host label (dNSHostName, host/ SPNs).
 */
export const GMSA_NAME: NameRule = {
  what: 'gMSA name',
  by: 'Active Directory',
  rule: `the gMSA name without the $ of its account: 1-15 characters, ${SAM_REFUSED} or $, not ending in a dot, ${NOT_WELL_KNOWN}`,
  minLength: 1,
  maxLength: 15,
  pattern: GMSA_NAME_PATTERN,
  refuse: (name) =>
    name.endsWith('$')
      ? `must be given without the trailing $: AD adds it (the account of gMSA ${name.slice(0, -1)} is ${name})`
      : wellKnown(name),
};

/**
 * 20 characters: the sAMAccountName limit of user objects. A trailing $ is refused: it is the mark of a machine
 * account, and `x$` is the sAMAccountName of the gMSA named `x` (AD refuses the second of the two). A user named
 * exactly like the gMSA does not collide (x and x$ are distinct, and they live in different containers).
 */
export const USER_NAME: NameRule = {
  what: 'standard user name',
  by: 'Active Directory',
  rule: `the standard user sAMAccountName: 1-20 characters, ${SAM_REFUSED}, not ending in a dot or $, ${NOT_WELL_KNOWN}`,
  minLength: 1,
  maxLength: 20,
  pattern: SAM_PATTERN,
  refuse: (name) =>
    name.endsWith('$')
      ? `must not end in $: that marks a machine account (${name} is the account of a gMSA named ${name.slice(0, -1)})`
      : wellKnown(name),
};

// Lowercase RFC 1123 label: what Kubernetes accepts as the spec name and what the RBAC resourceNames must match.
export const RFC1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

export const CREDENTIAL_SPEC_NAME: NameRule = {
  what: 'credential spec name',
  by: 'Kubernetes',
  rule: 'a lowercase RFC 1123 name: a-z, 0-9 and -, at most 63 characters',
  pattern: RFC1123_LABEL_PATTERN,
};

export const NAMESPACE: NameRule = {
  what: 'namespace',
  by: 'Kubernetes',
  rule: 'a Kubernetes namespace: lowercase RFC 1123 label',
  pattern: RFC1123_LABEL_PATTERN,
};

export const SERVICE_ACCOUNT: NameRule = {
  what: 'service account',
  by: 'Kubernetes',
  rule: 'a service account name: lowercase RFC 1123 subdomain',
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  maxLength: 253,
};

// One RDN: an attribute type, =, a value whose commas and backslashes are escaped (RFC 4514).
const RDN = String.raw`[A-Za-z][A-Za-z0-9-]*=(?:[^,\\]|\\.)+`;

/** The standard user's container, relative to the domain (CN=Users, OU=Service Accounts,OU=Corp): no DC= part. */
export const RELATIVE_DN: NameRule = {
  what: 'container',
  by: 'Active Directory',
  rule: 'a DN relative to the domain, for example CN=Users or OU=Service Accounts (no DC= part)',
  pattern: String.raw`^(?!(?:.*,)?\s*[Dd][Cc]=)${RDN}(?:,${RDN})*$`,
};

const compiled = new Map<string, RegExp>();
const regexOf = (pattern: string) => {
  let r = compiled.get(pattern);
  if (!r) compiled.set(pattern, (r = new RegExp(pattern, 'u')));
  return r;
};

/** Why `name` breaks `rule` (a sentence to follow the name), or undefined when it meets it. */
export function nameProblem(rule: NameRule, name: string): string | undefined {
  const refused = rule.refuse?.(name);
  if (refused) return refused;
  const length = [...name].length;
  if (
    (rule.minLength !== undefined && length < rule.minLength) ||
    (rule.maxLength !== undefined && length > rule.maxLength)
  ) {
    return `is ${length} characters long; ${rule.by} allows ${rule.minLength ?? 1} to ${rule.maxLength}`;
  }
  return regexOf(rule.pattern).test(name) ? undefined : `must be ${rule.rule}`;
}

/** The request's name fields (JSON pointers) and the rule each must meet. */
export const REQUEST_NAME_FIELDS: readonly (readonly [string, NameRule])[] = [
  ['/gmsa/name', GMSA_NAME],
  ['/gmsa/standardUser', USER_NAME],
  ['/gmsa/credentialSpecName', CREDENTIAL_SPEC_NAME],
  ['/options/rbac/namespace', NAMESPACE],
  ['/options/rbac/serviceAccount', SERVICE_ACCOUNT],
];
