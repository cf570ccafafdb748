/**
 * How the API limits failed authentications (@fastify/rate-limit behind the auth hook) and the codec's sign-in
 * (@fastify/cookie), through the real app and Fastify's inject: a request with no token is never counted, only
 * wrong tokens are, a valid token passes from a throttled address, on /v1 and /codec alike, and the UI's decode
 * calls before sign-in are told where to sign in. The Temporal client is lazy and never reached: no route here
 * talks to Temporal.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import { EncryptionCodec, KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings } from '../../temporal/settings.js';

const VIEWER = 'viewer-token-0123456789';
const tokens = TokenTable.parse(`viewer:${VIEWER}`);
const UI = 'http://127.0.0.1:8233';
const codec = new EncryptionCodec(KeyRing.parse(KeyRing.generateEntry('unit-1'), 'test'));

let connection: Connection;
before(() => {
  connection = Connection.lazy({ address: '127.0.0.1:1' });
});
after(async () => {
  await connection.close();
});

async function app(max = 5) {
  const service = new ProvisioningService(new Client({ connection }), readTemporalSettings({}));
  return buildApp({ service, tokens, codec, codecCorsOrigins: [UI], failureLimit: { max, timeWindowMs: 60_000 } });
}

async function encrypted(value: unknown) {
  const [p] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  const b64 = (v: Uint8Array | null | undefined) => Buffer.from(v ?? []).toString('base64');
  return {
    payloads: [
      { metadata: Object.fromEntries(Object.entries(p!.metadata!).map(([k, v]) => [k, b64(v)])), data: b64(p!.data) },
    ],
  };
}

const form = (token: string) => ({
  method: 'POST' as const,
  url: '/codec/login',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: `token=${encodeURIComponent(token)}`,
});

test('50 decode calls with no token (a UI page before sign-in): all 401 naming the sign-in page, nobody locked out', async () => {
  const api = await app(5);
  const body = await encrypted({ hello: 'world' });
  for (let i = 0; i < 50; i++) {
    const res = await api.inject({ method: 'POST', url: '/codec/decode', headers: { origin: UI }, payload: body });
    assert.equal(res.statusCode, 401, `call ${i}`);
    assert.equal(res.headers['access-control-allow-origin'], UI, 'the UI may read the refusal');
    assert.match(res.json().detail, /sign in at http:\/\/localhost:80\/codec\/login/);
  }
  // None of them counted: the first wrong token is still a 401, and the sign-in page is not refused.
  const wrong = await api.inject({ url: '/v1/provisionings', headers: { authorization: 'Bearer wrong-0000000000' } });
  assert.equal(wrong.statusCode, 401);
  assert.equal((await api.inject({ url: '/codec/login' })).statusCode, 200);
  assert.equal((await api.inject(form(VIEWER))).statusCode, 200);
  await api.close();
});

test('wrong tokens: `max` 401s, then 429 with Retry-After for more wrong ones, shared by /v1, /codec and the sign-in', async () => {
  const api = await app(3);
  const wrong = (i: number) => `Bearer wrong-token-${String(i).padStart(8, '0')}`;
  const statuses = [
    (await api.inject({ url: '/v1/provisionings', headers: { authorization: wrong(1) } })).statusCode,
    (await api.inject({ method: 'POST', url: '/codec/decode', headers: { authorization: wrong(2) }, payload: {} }))
      .statusCode,
    (await api.inject(form('wrong-token-00000003'))).statusCode,
  ];
  assert.deepEqual(statuses, [401, 401, 401]);
  const over = await api.inject({ url: '/v1/provisionings', headers: { authorization: wrong(4) } });
  assert.equal(over.statusCode, 429);
  assert.ok(Number(over.headers['retry-after']) > 0 && Number(over.headers['retry-after']) <= 60);
  const page = await api.inject(form('wrong-token-00000005'));
  assert.equal(page.statusCode, 429);
  assert.match(page.body, /a valid token still signs in/);
  assert.ok(!page.body.includes('wrong-token-00000005'), 'the page does not echo what was typed');

  // The same address with a valid token: header, sign-in form and cookie all pass at once.
  const body = await encrypted({ hello: 'world' });
  const byHeader = await api.inject({
    method: 'POST',
    url: '/codec/decode',
    headers: { authorization: `Bearer ${VIEWER}` },
    payload: body,
  });
  assert.equal(byHeader.statusCode, 200);
  const login = await api.inject(form(VIEWER));
  assert.equal(login.statusCode, 200);
  assert.match(login.body, /Include cross-origin credentials/);
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const byCookie = await api.inject({ method: 'POST', url: '/codec/decode', headers: { cookie }, payload: body });
  assert.equal(byCookie.statusCode, 200);
  const data = JSON.parse(Buffer.from(byCookie.json().payloads[0].data, 'base64').toString());
  assert.deepEqual(data, { hello: 'world' });
  // Another address was never affected.
  const other = await api.inject({
    url: '/v1/provisionings',
    remoteAddress: '192.0.2.7',
    headers: { authorization: wrong(6) },
  });
  assert.equal(other.statusCode, 401);
  await api.close();
});

test('a stale sign-in cookie counts as a wrong token and says to sign in again; the cookie never wins over a header', async () => {
  const api = await app(2);
  const stale = { cookie: 'gmsa_codec=revoked-token-000000' };
  const res = await api.inject({ method: 'POST', url: '/codec/decode', headers: stale, payload: {} });
  assert.equal(res.statusCode, 401);
  assert.match(res.json().detail, /signed-in token is not valid: sign in at .*\/codec\/login/);
  assert.ok(!res.body.includes('revoked-token'), 'the answer does not echo the cookie');
  // A wrong header with a valid cookie: the header is what was sent, and it is wrong.
  const both = await api.inject({
    method: 'POST',
    url: '/codec/decode',
    headers: { authorization: 'Bearer wrong-0000000000', cookie: `gmsa_codec=${VIEWER}` },
    payload: {},
  });
  assert.equal(both.statusCode, 401);
  // The cookie is read on /codec only: /v1 asks for the header.
  const v1 = await api.inject({ url: '/v1/provisionings', headers: { cookie: `gmsa_codec=${VIEWER}` } });
  assert.equal(v1.statusCode, 401);
  assert.match(v1.json().detail, /Authorization: Bearer/);
  await api.close();
});

test('the sign-in page says what to do next, with the endpoint to paste and a link to the UI', async () => {
  const api = await app();
  const page = await api.inject({ url: '/codec/login', headers: { host: '127.0.0.1:3000' } });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /^text\/html/);
  assert.match(page.body, /<code>http:\/\/127\.0\.0\.1:3000\/codec<\/code>/);
  assert.match(page.body, /href="http:\/\/127\.0\.0\.1:8233"/);
  assert.match(page.body, /Use my browser setting and ignore Cluster-level setting/);
  const empty = await api.inject(form(''));
  assert.equal(empty.statusCode, 401);
  assert.match(empty.body, /Enter an API token/);
  await api.close();
});
