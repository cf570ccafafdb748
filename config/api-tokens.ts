/** Who may call the API: the roles, and the one parser of GMSA_API_TOKENS (API, CLI and the lab starter). */
import { ConfigError } from './env.js';

/**
 * GMSA_API_TOKENS: a comma-separated list of `role:token`, or `role:name:token` to give the holder a name (recorded
 * e.g. as the approver). The API builds its token table from it; the CLI picks the lab's token for a role from it.
 * Errors name the variable and never echo a token.
 */
export const ROLES = ['viewer', 'operator', 'approver'] as const;
export type Role = (typeof ROLES)[number];

export const TOKEN_VARIABLE = 'GMSA_API_TOKENS';
/** Shorter tokens are refused: a guessable token is no authentication. */
export const MIN_TOKEN_LENGTH = 16;

export interface TokenEntry {
  role: Role;
  /** Given by `role:name:token`; absent for `role:token`. */
  name?: string;
  token: string;
}

const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);

export function parseTokenSpec(spec: string | undefined, variable = TOKEN_VARIABLE): TokenEntry[] {
  return (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((raw) => {
      const parts = raw.split(':');
      const role = parts[0]!;
      if (!isRole(role) || parts.length < 2) {
        throw new ConfigError(
          variable,
          `entries are role:token or role:name:token with role one of ${ROLES.join(', ')}`,
        );
      }
      // A token may itself hold colons: everything after the role (and the name, when there are three parts or more).
      const named = parts.length >= 3;
      const token = parts.slice(named ? 2 : 1).join(':');
      if (token.length < MIN_TOKEN_LENGTH)
        throw new ConfigError(variable, `a ${role} token is shorter than ${MIN_TOKEN_LENGTH} characters`);
      return named ? { role, name: parts[1]!, token } : { role, token };
    });
}
