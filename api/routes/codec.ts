/**
 * Temporal's codec-server protocol, so an authorised Temporal UI (or `temporal --codec-endpoint`) shows decrypted
 * payloads: POST /codec/decode and /codec/encode with `{ payloads: [{ metadata: {k: base64}, data: base64 }] }`.
 * Decoding is for any API role; encoding makes input the worker accepts (a signal from the UI), so it needs the
 * operator or approver role. CORS admits only the configured UI origins. The UI cannot send a bearer token, so
 * /codec/login sets it as an HttpOnly cookie and says which UI settings send it; a decode call without it is told
 * where to sign in.
 */
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Type } from 'typebox';
import { ENCODING } from '../../temporal/codec.js';
import type { TokenTable } from '../auth.js';
import { authPlugin, requirePermission, type FailedAuthCounter } from '../plugins/auth.js';

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

export const CODEC_COOKIE = 'gmsa_codec';
export const SIGN_IN_PATH = '/codec/login';
const SIGNED_IN_HOURS = 8;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const page = (body: string) =>
  '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
  '<title>aks-gmsa: sign in to decode</title><body style="font-family:sans-serif;max-width:46em;margin:2em auto">' +
  `${body}</body>`;

/** What the Temporal UI needs once the cookie is set: its codec settings, as the UI labels them. */
const nextSteps = (endpoint: string, ui: string | undefined) =>
  '<ol id="next-steps"><li>In the Temporal UI' +
  (ui ? ` (<a href="${escapeHtml(ui)}">${escapeHtml(ui)}</a>)` : '') +
  ', click the Codec Server icon at the top right.</li>' +
  '<li>Choose "Use my browser setting and ignore Cluster-level setting".</li>' +
  `<li>Paste the endpoint <code>${escapeHtml(endpoint)}</code>.</li>` +
  '<li>Turn on "Include cross-origin credentials" and click Apply.</li></ol>' +
  '<p>Open the UI with the same host name as this page (both <code>127.0.0.1</code> or both ' +
  '<code>localhost</code>): the browser sends the sign-in cookie only within one site.</p>';

const loginPage = (endpoint: string, ui: string | undefined, note = '') =>
  page(
    '<h1>Decode payloads in the Temporal UI</h1>' +
      note +
      '<p>The UI cannot send a bearer token to a codec server, so sign in here once with an API token (any role); ' +
      `the browser keeps it for ${SIGNED_IN_HOURS} hours in an HttpOnly cookie sent only to <code>/codec</code>.</p>` +
      '<form method="post"><label>API token <input name="token" type="password" autocomplete="off" autofocus>' +
      '</label> <button>Sign in</button></form><h2>Then</h2>' +
      nextSteps(endpoint, ui),
  );

export interface CodecRoutesOptions {
  codec: PayloadCodec;
  tokens: TokenTable;
  failures: FailedAuthCounter;
  /** Origins of the Temporal UI allowed to call from a browser; the first is linked from the sign-in page. */
  corsOrigins: string[];
}

export const codecRoutes: FastifyPluginAsync<CodecRoutesOptions> = async (
  app,
  { codec, tokens, failures, corsOrigins },
) => {
  await app.register(cors, {
    origin: corsOrigins,
    methods: ['POST'],
    allowedHeaders: ['content-type', 'authorization', 'x-namespace'],
    credentials: true,
    maxAge: 600,
  });
  await app.register(cookie);
  const base = (req: FastifyRequest) => `${req.protocol}://${req.host}`;
  const endpoint = (req: FastifyRequest) => `${base(req)}/codec`;
  const ui = corsOrigins[0];
  // Preflight requests carry no token; they are answered by the CORS plugin before auth runs. The sign-in page is
  // how a browser gets the cookie the Temporal UI then sends ("Include cross-origin credentials").
  const open = (url: string, method: string) => method === 'OPTIONS' || url.split('?')[0] === SIGN_IN_PATH;
  await app.register(authPlugin, {
    tokens,
    failures,
    skip: (req) => open(req.url, req.method),
    cookie: CODEC_COOKIE,
    // The UI's decode calls before sign-in: their answer says where to sign in (the browser's console shows it).
    missing: (req) =>
      `sign in at ${base(req)}${SIGN_IN_PATH} with an API token, then turn on "Include cross-origin credentials" ` +
      `in the Temporal UI's codec settings (or send Authorization: Bearer <token>)`,
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.get(SIGN_IN_PATH, { schema: { hide: true } }, async (req, reply) =>
    reply.type('text/html').send(loginPage(endpoint(req), ui)),
  );
  app.post<{ Body: { token?: string } }>(SIGN_IN_PATH, { schema: { hide: true } }, async (req, reply) => {
    const token = req.body?.token ?? '';
    // As for every route: a valid token always signs in, whatever the address did before; only wrong ones count.
    if (!tokens.authenticate(token)) {
      // An empty form is no guess and is not counted.
      const count = token ? await failures(req) : undefined;
      const throttled = count !== undefined && !count.isAllowed && count.isExceeded;
      if (throttled) reply.code(429).header('retry-after', String(count.ttlInSeconds));
      else reply.code(401);
      const why = throttled
        ? 'Too many wrong tokens from this address: a valid token still signs in at once.'
        : token
          ? 'That token is not valid.'
          : 'Enter an API token.';
      return reply.type('text/html').send(loginPage(endpoint(req), ui, `<p role="alert"><strong>${why}</strong></p>`));
    }
    // Lax: the UI and the API are the same site (same host, another port), so the UI's fetches carry it. Secure
    // whenever the request came over HTTPS (directly or through a trusted proxy).
    reply.setCookie(CODEC_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/codec',
      maxAge: SIGNED_IN_HOURS * 3600,
      secure: 'auto',
    });
    return reply
      .type('text/html')
      .send(
        page(
          `<h1>Signed in</h1><p id="signed-in">Signed in for ${SIGNED_IN_HOURS} hours: the Temporal UI can now ` +
            'decode payloads once its codec settings send credentials.</p>' +
            nextSteps(endpoint(req), ui) +
            '<p>Then reload the workflow page.</p>',
        ),
      );
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
