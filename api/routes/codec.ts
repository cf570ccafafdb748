/**
 * Temporal's codec-server protocol, so an authorised Temporal UI (or `temporal --codec-endpoint`) shows decrypted
 * payloads: POST /codec/decode and /codec/encode with `{ payloads: [{ metadata: {k: base64}, data: base64 }] }`.
 * Any API role may use it; CORS admits only the configured UI origins.
 */
import cors from '@fastify/cors';
import type { FastifyPluginAsync } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Type } from 'typebox';
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
  // Preflight requests carry no token; they are answered by the CORS plugin before auth runs.
  await app.register(authPlugin, { tokens, throttle, skip: (req) => req.method === 'OPTIONS' });
  const schema = { hide: false, body: Payloads, response: { 200: Payloads }, tags: ['codec'] };
  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/codec/decode',
    { onRequest: requirePermission('read'), schema: { ...schema, summary: 'Decrypt payloads for the Temporal UI' } },
    async (req) => ({ payloads: (await codec.decode(req.body.payloads.map(fromJson))).map(toJson) }),
  );
  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/codec/encode',
    { onRequest: requirePermission('read'), schema: { ...schema, summary: 'Encrypt payloads (UI signal input)' } },
    async (req) => ({ payloads: (await codec.encode(req.body.payloads.map(fromJson))).map(toJson) }),
  );
};
