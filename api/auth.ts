/**
 * Bearer tokens with roles, from GMSA_API_TOKENS (its format: ./schemas.ts). Tokens are compared in constant
 * time through their hashes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseTokenSpec, ROLES, TOKEN_VARIABLE, type Role } from '../config/api-tokens.js';

export { ROLES, type Role };
/** What each role may do; every role may read. */
export const PERMISSIONS = {
  read: ['viewer', 'operator', 'approver'],
  start: ['operator'],
  cancel: ['operator'],
  approve: ['approver'],
  /** Encrypting payloads makes input the worker accepts (e.g. a signal typed in the Temporal UI). */
  encode: ['operator', 'approver'],
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

  static parse(spec: string | undefined, variable = TOKEN_VARIABLE): TokenTable {
    const byDigest = new Map<string, Entry>();
    for (const { role, name, token } of parseTokenSpec(spec, variable)) {
      const d = digest(token);
      const key = d.toString('hex');
      const existing = byDigest.get(key);
      if (existing) existing.principal.roles.push(role);
      else byDigest.set(key, { digest: d, principal: { name: name ?? `${role}-${key.slice(0, 8)}`, roles: [role] } });
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
