/**
 * The Key Vault secret value the CCG plugin reads on every Windows node: `DOMAIN\user:password`. Parsed by the
 * plugin's own rule: the domain is the text before the first `\`, the user runs to the first `:` after it, and the
 * rest, colons included, is the password.
 */

export interface DomainCredential {
  domain: string;
  user: string;
  password: string;
}

/** Undefined when the value breaks the format; never echoes the value (it holds the password). */
export function parseCcgSecret(value: string): DomainCredential | undefined {
  const slash = value.indexOf('\\');
  if (slash <= 0) return undefined;
  const colon = value.indexOf(':', slash + 1);
  const firstColon = value.indexOf(':');
  // The plugin refuses a value whose first ':' comes before the first '\'.
  if (colon <= slash + 1 || firstColon < slash) return undefined;
  const password = value.slice(colon + 1);
  if (password.length === 0) return undefined;
  return { domain: value.slice(0, slash), user: value.slice(slash + 1, colon), password };
}
