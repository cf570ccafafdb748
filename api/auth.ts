/**
 * Bearer tokens with roles, from GMSA_API_TOKENS: a comma-separated list of `role:token` (or `role:name:token` to
 * give the holder a name, recorded e.g. as the approver). Tokens are compared in constant time through their hashes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../config/env.js';

export const ROLES = ['viewer', 'operator', 'approver'] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do; every role may read. */
export const PERMISSIONS = {
  read: ['viewer', 'operator', 'approver'],
  start: ['operator'],
  cancel: ['operator'],
  approve: ['approver'],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

export interface Principal {
  name: string;
  roles: Role[];
}

interface Entry {
  digest: Buffer;
  principal: Principal;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

export class TokenTable {
  private constructor(private readonly entries: Entry[]) {}

  static parse(spec: string | undefined, variable = 'GMSA_API_TOKENS'): TokenTable {
    const byDigest = new Map<string, Entry>();
    for (const raw of (spec ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const parts = raw.split(':');
      const role = parts[0] as Role;
      if (!ROLES.includes(role) || parts.length < 2) {
        throw new ConfigError(
          variable,
          `entries are role:token or role:name:token with role one of ${ROLES.join(', ')}`,
        );
      }
      const named = parts.length >= 3;
      const token = named ? parts.slice(2).join(':') : parts.slice(1).join(':');
      if (token.length < 16) throw new ConfigError(variable, `a ${role} token is shorter than 16 characters`);
      const d = digest(token);
      const name = named ? parts[1]! : `${role}-${d.toString('hex').slice(0, 8)}`;
      const key = d.toString('hex');
      const existing = byDigest.get(key);
      if (existing) existing.principal.roles.push(role);
      else byDigest.set(key, { digest: d, principal: { name, roles: [role] } });
    }
    return new TokenTable([...byDigest.values()]);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The holder of a token, checking every entry so the time taken does not depend on which one matches. */
  authenticate(token: string): Principal | undefined {
    const d = digest(token);
    let found: Principal | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d)) found = e.principal;
    return found;
  }
}

export function allowed(principal: Principal, permission: Permission): boolean {
  const roles: readonly Role[] = PERMISSIONS[permission];
  return principal.roles.some((r) => roles.includes(r));
}
