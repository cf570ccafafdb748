/**
 * Bearer-token authentication for every route registered after it, and `requirePermission` for each route. Failed
 * guesses are limited per client address through @fastify/rate-limit: only a token that was presented and is wrong
 * counts, and only failures are ever answered 429, so a valid token passes from any address at any time and a
 * browser that has not signed in yet (no token at all) cannot lock anybody out.
 */
import '@fastify/cookie';
import '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { allowed, PERMISSIONS, type Permission, type Principal, type TokenTable } from '../auth.js';
import { Forbidden, TooManyRequests, Unauthorized } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Wrong tokens allowed per address in a window before further wrong ones get 429. */
export interface FailureLimit {
  max: number;
  timeWindowMs: number;
}
export const DEFAULT_FAILURE_LIMIT: FailureLimit = { max: 20, timeWindowMs: 60_000 };

/** Counts one failed authentication of the request's address (req.ip, so GMSA_TRUST_PROXY decides). */
export type FailedAuthCounter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * The rate-limit plugin's options: no global limit (only failures are limited) and an in-memory store per API
 * process, bounded to 10 000 addresses (least recently used go first). Register it once at the root, then make the
 * one counter every scope shares with `app.createRateLimit(failureWindow(limit))`, so guesses count wherever they
 * land.
 */
export const RATE_LIMIT_PLUGIN = { global: false, cache: 10_000 } as const;
export const failureWindow = (limit = DEFAULT_FAILURE_LIMIT) => ({ max: limit.max, timeWindow: limit.timeWindowMs });

/** Throws the answer to a wrong token: 401 with `message`, or 429 with Retry-After once the address is over. */
export async function refuseWrongToken(failures: FailedAuthCounter, req: FastifyRequest, message: string) {
  const count = await failures(req);
  if (!count.isAllowed && count.isExceeded)
    throw new TooManyRequests('too many failed authentications from this address', count.ttl);
  throw new Unauthorized(message);
}

export interface AuthOptions {
  tokens: TokenTable;
  failures: FailedAuthCounter;
  /** Requests that need no token (CORS preflight, a sign-in page). */
  skip?: (req: FastifyRequest) => boolean;
  /** A cookie (@fastify/cookie) that may carry the token instead of the header: a browser UI cannot send headers. */
  cookie?: string;
  /** What a request without any token is told to do. */
  missing?: (req: FastifyRequest) => string;
}

const MISSING = 'send Authorization: Bearer <token> (tokens: GMSA_API_TOKENS)';

export const authPlugin = fp<AuthOptions>(async (app, { tokens, failures, skip, cookie, missing }) => {
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (req) => {
    if (skip?.(req)) return;
    const header = req.headers.authorization;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    const token = match?.[1] ?? (cookie && !header ? req.cookies?.[cookie] : undefined);
    // No token is no guess: 401 saying what to send, never counted.
    if (!token && !header) throw new Unauthorized(missing?.(req) ?? MISSING);
    // The token first: a valid one passes whatever the address did before.
    const principal = token ? tokens.authenticate(token) : undefined;
    if (!principal) {
      const what = match
        ? 'the bearer token is not valid'
        : header
          ? MISSING
          : `the signed-in token is not valid: ${missing?.(req) ?? MISSING}`;
      await refuseWrongToken(failures, req, what);
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
