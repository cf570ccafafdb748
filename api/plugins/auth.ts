/** Bearer-token authentication for every route registered after it, and `requirePermission` for each route. */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AuthThrottle } from '../auth-throttle.js';
import { allowed, PERMISSIONS, type Permission, type Principal, type TokenTable } from '../auth.js';
import { Forbidden, TooManyRequests, Unauthorized } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface AuthOptions {
  tokens: TokenTable;
  /** Shared by every authenticated route of the app, so guesses count wherever they land. */
  throttle: AuthThrottle;
  /** Requests that need no token (CORS preflight). */
  skip?: (req: FastifyRequest) => boolean;
  /** A cookie that may carry the token instead of the header (the Temporal UI cannot send headers to a codec). */
  cookie?: string;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

export const authPlugin = fp<AuthOptions>(async (app, { tokens, throttle, skip, cookie }) => {
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (req) => {
    if (skip?.(req)) return;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = match?.[1] ?? (cookie && !header ? cookieValue(req.headers.cookie, cookie) : undefined);
    // The token first: a valid one passes whatever the address did before, so only failures are throttled.
    const principal = token ? tokens.authenticate(token) : undefined;
    if (!principal) {
      const wait = throttle.fail(req.ip);
      if (wait > 0) throw new TooManyRequests('too many failed authentications from this address', wait);
      throw new Unauthorized(
        match ? 'the bearer token is not valid' : 'send Authorization: Bearer <token> (tokens: GMSA_API_TOKENS)',
      );
    }
    req.principal = principal;
  });
});

/** A hook that answers 403 unless the caller's role grants `permission`. */
export function requirePermission(permission: Permission) {
  const roles = PERMISSIONS[permission];
  const needs = roles.length === 1 ? roles[0] : `${roles.slice(0, -1).join(', ')} or ${roles.at(-1)}`;
  return async (req: FastifyRequest) => {
    if (!req.principal || !allowed(req.principal, permission))
      throw new Forbidden(`${permission} needs the role ${needs}`);
  };
}
