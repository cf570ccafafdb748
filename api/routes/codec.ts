/**
 * Temporal's codec-server protocol, so an authorised Temporal UI (or `temporal --codec-endpoint`) shows decrypted
 * payloads: POST /codec/decode and /codec/encode with `{ payloads: [{ metadata: {k: base64}, data: base64 }] }`.
 * Decoding is for any API role; encoding makes input the worker accepts (a signal from the UI), so it needs the
 * operator or approver role. CORS admits only the configured UI origins.
 */
import cors from '@fastify/cors';
import type { FastifyPluginAsync } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Type } from 'typebox';
import { ENCODING } from '../../temporal/codec.js';
import type { AuthThrottle } from '../auth-throttle.js';
import type { TokenTable } from '../auth.js';
import { authPlugin, requirePermission } from '../plugins/auth.js';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const Payloads = Type.Object({
  payloads: Type.Array(
    Type.Object({
      metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
      data: Type.Optional(Type.String()),
    }),
  ),
});

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/**
 * The UI shows what the history holds: a payload that is not encrypted (one the worker refused) is shown as it is,
 * where the worker's codec would refuse the whole batch.
 */
async function decodeForDisplay(codec: PayloadCodec, payloads: Payload[]): Promise<Payload[]> {
  const encrypted = (p: Payload) => Buffer.from(p.metadata?.encoding ?? []).toString() === ENCODING;
  const decoded = await codec.decode(payloads.filter(encrypted));
  return payloads.map((p) => (encrypted(p) ? decoded.shift()! : p));
}

const CODEC_COOKIE = 'gmsa_codec';
const page = (body: string) =>
  `<!doctype html><meta charset="utf-8"><title>aks-gmsa codec</title><body style="font-family:sans-serif">${body}</body>`;
const LOGIN_PAGE = page(
  '<h1>Decode payloads in the Temporal UI</h1><form method="post"><label>API token <input name="token" type="password" ' +
    'autocomplete="off"></label> <button>Sign in</button></form><p>Then, in the Temporal UI, open the codec server ' +
    'settings and turn on "Include cross-origin credentials".</p>',
);

export interface CodecRoutesOptions {
  codec: PayloadCodec;
  tokens: TokenTable;
  throttle: AuthThrottle;
  /** Origins of the Temporal UI allowed to call from a browser. */
  corsOrigins: string[];
}

export const codecRoutes: FastifyPluginAsync<CodecRoutesOptions> = async (
  app,
  { codec, tokens, throttle, corsOrigins },
) => {
  await app.register(cors, {
    origin: corsOrigins,
    methods: ['POST'],
    allowedHeaders: ['content-type', 'authorization', 'x-namespace'],
    credentials: true,
    maxAge: 600,
  });
  // Preflight requests carry no token; they are answered by the CORS plugin before auth runs. The login page is
  // how a browser gets the cookie the Temporal UI then sends ("Include cross-origin credentials").
  const open = (url: string, method: string) => method === 'OPTIONS' || url.split('?')[0] === '/codec/login';
  await app.register(authPlugin, { tokens, throttle, skip: (req) => open(req.url, req.method), cookie: CODEC_COOKIE });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.get('/codec/login', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html').send(LOGIN_PAGE));
  app.post<{ Body: { token?: string } }>('/codec/login', { schema: { hide: true } }, async (req, reply) => {
    const token = req.body?.token ?? '';
    // As for every route: a valid token always signs in; only failures are throttled.
    if (!tokens.authenticate(token)) {
      const wait = throttle.fail(req.ip);
      if (wait > 0) reply.code(429).header('retry-after', String(Math.ceil(wait / 1000)));
      else reply.code(401);
      return reply.type('text/html').send(page('That token is not valid.'));
    }
    // Lax: the UI and the API are the same site (same host, other port), so the UI's fetches carry it.
    reply.header(
      'set-cookie',
      `${CODEC_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Lax; Path=/codec; Max-Age=28800`,
    );
    return reply.type('text/html').send(page('Signed in for 8 hours: the Temporal UI can now decode payloads.'));
  });
  const schema = { hide: false, body: Payloads, response: { 200: Payloads }, tags: ['codec'] };
  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/codec/decode',
    { onRequest: requirePermission('read'), schema: { ...schema, summary: 'Decrypt payloads for the Temporal UI' } },
    async (req) => ({ payloads: (await decodeForDisplay(codec, req.body.payloads.map(fromJson))).map(toJson) }),
  );
  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/codec/encode',
    {
      onRequest: requirePermission('encode'),
      schema: { ...schema, summary: 'Encrypt payloads (UI signal input); operator or approver' },
    },
    async (req) => ({ payloads: (await codec.encode(req.body.payloads.map(fromJson))).map(toJson) }),
  );
};
