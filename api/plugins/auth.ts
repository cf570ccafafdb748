/** Bearer-token authentication for every route registered after it, and `requirePermission` for each route. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AuthThrottle } from '../auth-throttle.js';
import { allowed, type Permission, type Principal, type TokenTable } from '../auth.js';
import { sendProblem } from '../problem.js';

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
  app.addHook('onRequest', async (req, reply) => {
    if (skip?.(req)) return;
    const wait = throttle.retryAfterMs(req.ip);
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return sendProblem(reply, { status: 429, detail: 'too many failed authentications from this address' });
    }
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = match?.[1] ?? (cookie && !header ? cookieValue(req.headers.cookie, cookie) : undefined);
    const principal = token ? tokens.authenticate(token) : undefined;
    if (!principal) {
      throttle.fail(req.ip);
      reply.header('www-authenticate', 'Bearer realm="aks-gmsa"');
      return sendProblem(reply, {
        status: 401,
        detail: match
          ? 'the bearer token is not valid'
          : 'send Authorization: Bearer <token> (tokens: GMSA_API_TOKENS)',
      });
    }
    req.principal = principal;
  });
});

/** A preHandler that answers 403 unless the caller's role grants `permission`. */
export function requirePermission(permission: Permission) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.principal || !allowed(req.principal, permission)) {
      return sendProblem(reply, {
        status: 403,
        detail: `${permission} needs the role ${permission === 'read' ? 'viewer, operator or approver' : permission === 'approve' ? 'approver' : 'operator'}`,
      });
    }
  };
}
