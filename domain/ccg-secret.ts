/**
 * The gMSA host secret the CCG Key Vault plugin reads on every Windows node: `<DOMAIN FQDN>\<user>:<password>`.
 * One definition, for the activity that writes it, the activities that read it, and the lab.
 */

export interface CcgSecret {
  domain: string;
  user: string;
  password: string;
}

export function formatCcgSecret(s: CcgSecret): string {
  return `${s.domain}\\${s.user}:${s.password}`;
}

/**
 * Parses a value by the plugin's rule: the domain is the text before the first `\`, the user runs up to the first
 * `:` after it, and the rest, colons included, is the password. Undefined when the plugin would refuse it (no
 * domain, user or password, or a `:` before the first `\`); never echoes the value, which holds the password.
 */
export function parseCcgSecret(value: string): CcgSecret | undefined {
  const slash = value.indexOf('\\');
  if (slash <= 0) return undefined;
  const colon = value.indexOf(':', slash + 1);
  const firstColon = value.indexOf(':');
  if (colon <= slash + 1 || firstColon < slash) return undefined;
  const password = value.slice(colon + 1);
  if (password.length === 0) return undefined;
  return { domain: value.slice(0, slash), user: value.slice(slash + 1, colon), password };
}
