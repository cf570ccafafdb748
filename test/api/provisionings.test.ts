/**
 * The REST contract through Fastify's inject, with the real Temporal dev server behind it and a worker running
 * activity doubles: every route, auth, validation, 409 for a duplicate, and a real workflow's progress read back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, KeyRing } from '../../temporal/codec.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { STEP_NAMES } from '../../workflows/definitions.js';
import { examplePowerShellParams, exampleRequest, uniqueSpec } from '../support/requests.js';
import { startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { frontDoor } from '../support/front-door.js';
import { pollUntil } from '../support/poll.js';

const TOKENS = {
  viewer: 'viewer-token-0123456789',
  operator: 'operator-token-0123456789',
  approver: 'approver-token-0123456789',
};
const tokens = TokenTable.parse(
  `viewer:${TOKENS.viewer},operator:${TOKENS.operator},approver:alice:${TOKENS.approver}`,
);
const as = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` });

let harness: ApiHarness;
let app: ApiHarness['app'];
let env: ApiHarness['env'];

before(async () => {
  harness = await startApiHarness({ tokens, prefix: 'api' });
  ({ app, env } = harness);
});

after(async () => {
  await harness?.close();
});

/** A distinct cluster per test, so list filters and workflow ids never collide across tests or runs. */
const uniqueCluster = () => `aks-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
function request(o: Parameters<typeof exampleRequest>[0] = {}, cluster = uniqueCluster()) {
  const r = exampleRequest({ spec: uniqueSpec('api'), ...o });
  r.cluster.name = cluster;
  return r;
}

async function post(body: unknown, role: keyof typeof TOKENS = 'operator') {
  return app.inject({ method: 'POST', url: '/v1/provisionings', headers: as(role), payload: body as object });
}

async function waitFor(id: string, ok: (b: Record<string, unknown>) => boolean, what: string) {
  let body: Record<string, unknown> = {};
  return pollUntil(
    what,
    async () => {
      const res = await app.inject({ url: `/v1/provisionings/${id}`, headers: as('viewer') });
      body = res.json();
      return res.statusCode === 200 && ok(body) && body;
    },
    { intervalMs: 150, last: () => JSON.stringify(body).slice(0, 500) },
  );
}

const stepOf = (b: Record<string, unknown>, name: string) =>
  (b.steps as { name: string; status: string }[]).find((s) => s.name === name);

describe('health and docs', () => {
  test('GET /healthz answers without a token', async () => {
    const res = await app.inject({ url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  test('GET /readyz is 200 while Temporal answers, 503 when it does not', async () => {
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    // A Temporal address that drops every connection: a port of this test's own, so nothing else can answer there.
    const door = await frontDoor();
    const settings = readTemporalSettings({ TEMPORAL_ADDRESS: `127.0.0.1:${door.port}` });
    const connection = Connection.lazy({ address: settings.address });
    const down = await buildApp({ service: new ProvisioningService(new Client({ connection }), settings), tokens });
    const res = await down.inject({ url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.match(res.json().detail, /^Temporal: /);
    assert.ok(door.refused() > 0, 'the readiness check did try Temporal');
    await down.close();
    await door.close();
  });

  test('GET /openapi.json describes every route; /docs serves the UI', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const p of [
      '/v1/provisionings',
      '/v1/provisionings/{id}',
      '/v1/provisionings/{id}/approve',
      '/v1/provisionings/{id}/cancel',
    ]) {
      assert.ok(doc.paths[p], `documents ${p}`);
    }
    assert.ok(doc.components.securitySchemes.bearer);
    const ui = await app.inject({ url: '/docs/' });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger/i);
  });
});

describe('auth', () => {
  test('401 without a token or with an unknown one, as problem+json', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-a-token-at-all-000' }, { authorization: 'Basic abc' }]) {
      const res = await app.inject({ url: '/v1/provisionings', headers });
      assert.equal(res.statusCode, 401);
      assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
      assert.equal(res.json().status, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="aks-gmsa"');
    }
  });

  test('403 for a role that may not: viewer starts, operator approves, approver cancels', async () => {
    assert.equal((await post(request(), 'viewer')).statusCode, 403);
    const id = 'gmsa-aks1-webapp01-0123456789ab';
    const approve = await app.inject({
      method: 'POST',
      url: `/v1/provisionings/${id}/approve`,
      headers: as('operator'),
    });
    assert.equal(approve.statusCode, 403);
    assert.match(approve.json().detail, /approver/);
    const cancel = await app.inject({ method: 'POST', url: `/v1/provisionings/${id}/cancel`, headers: as('approver') });
    assert.equal(cancel.statusCode, 403);
  });
});

describe('failed-auth throttle and the codec endpoint', () => {
  test('50 bad tokens from one address get 401 then 429; a valid token from it still gets 200', async () => {
    const throttled = await buildApp({
      service: new ProvisioningService(env.client, readTemporalSettings({})),
      tokens,
      failureLimit: { max: 20, timeWindowMs: 60_000 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await throttled.inject({
        url: '/v1/provisionings',
        headers: { authorization: `Bearer wrong-token-${String(i).padStart(10, '0')}` },
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) assert.ok(Number(res.headers['retry-after']) > 0, 'Retry-After on a 429');
    }
    assert.deepEqual(statuses, [...Array(20).fill(401), ...Array(30).fill(429)]);
    const valid = await throttled.inject({ url: '/v1/provisionings?limit=1', headers: as('viewer') });
    assert.equal(valid.statusCode, 200, valid.body);
    assert.equal(
      (await throttled.inject({ url: '/v1/provisionings', headers: { authorization: 'Bearer wrong-token-again-0' } }))
        .statusCode,
      429,
      'still throttled for failures',
    );
    const anonymous = await throttled.inject({ url: '/v1/provisionings' });
    assert.equal(anonymous.statusCode, 401, 'a request with no token is no guess: told what to send, never 429');
    await throttled.close();
  });

  test('GMSA_TRUST_PROXY: behind a trusted proxy the throttle counts the forwarded client, not the proxy', async () => {
    const behind = await buildApp({
      service: new ProvisioningService(env.client, readTemporalSettings({})),
      tokens,
      failureLimit: { max: 3, timeWindowMs: 60_000 },
      trustProxy: ['127.0.0.1'],
    });
    const from = (client: string) =>
      behind.inject({
        url: '/v1/provisionings',
        remoteAddress: '127.0.0.1',
        headers: { authorization: 'Bearer wrong-token-000000000', 'x-forwarded-for': client },
      });
    for (let i = 0; i < 3; i++) assert.equal((await from('203.0.113.5')).statusCode, 401);
    assert.equal((await from('203.0.113.5')).statusCode, 429);
    assert.equal((await from('203.0.113.6')).statusCode, 401, 'another client behind the same proxy is not throttled');
    await behind.close();
    // Not trusted (the default): the forwarded header is ignored and every client is the proxy.
    const direct = await buildApp({
      service: new ProvisioningService(env.client, readTemporalSettings({})),
      tokens,
      failureLimit: { max: 3, timeWindowMs: 60_000 },
    });
    const spoof = (client: string) =>
      direct.inject({
        url: '/v1/provisionings',
        headers: { authorization: 'Bearer wrong-token-000000000', 'x-forwarded-for': client },
      });
    for (let i = 0; i < 3; i++) await spoof(`198.51.100.${i}`);
    assert.equal((await spoof('198.51.100.99')).statusCode, 429, 'a made-up X-Forwarded-For does not escape it');
    await direct.close();
  });

  test('/codec/encode needs the operator or approver role: viewer 403, operator and approver 200', async () => {
    const codec = new EncryptionCodec(KeyRing.parse(KeyRing.generateEntry('api-1'), 'test'));
    const withCodec = await buildApp({
      service: new ProvisioningService(env.client, readTemporalSettings({})),
      tokens,
      codec,
    });
    const plain = defaultPayloadConverter.toPayload({ by: 'mallory' });
    const body = {
      payloads: [
        {
          metadata: { encoding: Buffer.from(plain.metadata!.encoding!).toString('base64') },
          data: Buffer.from(plain.data!).toString('base64'),
        },
      ],
    };
    const encode = (role: keyof typeof TOKENS) =>
      withCodec.inject({ method: 'POST', url: '/codec/encode', headers: as(role), payload: body });
    const viewer = await encode('viewer');
    assert.equal(viewer.statusCode, 403);
    assert.match(viewer.json().detail, /encode needs the role operator or approver/);
    for (const role of ['operator', 'approver'] as const) {
      const res = await encode(role);
      assert.equal(res.statusCode, 200, `${role}: ${res.body}`);
      assert.equal(Buffer.from(res.json().payloads[0].metadata.encoding, 'base64').toString(), 'binary/encrypted');
    }
    // Decoding stays open to every role, and shows a payload that is not encrypted as it is.
    const shown = await withCodec.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: as('viewer'),
      payload: body,
    });
    assert.equal(shown.statusCode, 200);
    assert.deepEqual(shown.json(), body);
    await withCodec.close();
  });

  test('/codec/decode round-trips payloads for any role, refuses without a token, and admits only the UI origin', async () => {
    const ring = KeyRing.parse(KeyRing.generateEntry('api-1'), 'test');
    const codec = new EncryptionCodec(ring);
    const withCodec = await buildApp({
      service: new ProvisioningService(env.client, readTemporalSettings({})),
      tokens,
      codec,
      codecCorsOrigins: ['http://ui.example:8233'],
    });
    const [enc] = await codec.encode([defaultPayloadConverter.toPayload({ hello: 'world' })]);
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(enc!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
          ),
          data: Buffer.from(enc!.data!).toString('base64'),
        },
      ],
    };
    assert.equal((await withCodec.inject({ method: 'POST', url: '/codec/decode', payload: body })).statusCode, 401);
    const res = await withCodec.inject({ method: 'POST', url: '/codec/decode', headers: as('viewer'), payload: body });
    assert.equal(res.statusCode, 200);
    const data = Buffer.from(res.json().payloads[0].data, 'base64').toString();
    assert.equal(JSON.parse(data).hello, 'world');
    const preflight = (origin: string) =>
      withCodec.inject({
        method: 'OPTIONS',
        url: '/codec/decode',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
    const ok = await preflight('http://ui.example:8233');
    assert.equal(ok.headers['access-control-allow-origin'], 'http://ui.example:8233');
    const other = await preflight('http://evil.example');
    assert.equal(other.headers['access-control-allow-origin'], undefined);

    // The browser path: sign in once, then the UI's cookie-carrying requests decode.
    const form = (token: string) => ({
      method: 'POST' as const,
      url: '/codec/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${encodeURIComponent(token)}`,
    });
    assert.equal((await withCodec.inject(form('not-a-valid-token-0000'))).statusCode, 401);
    const login = await withCodec.inject(form(TOKENS.viewer));
    assert.equal(login.statusCode, 200);
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /^gmsa_codec=[^;]+;/);
    for (const attribute of [/; HttpOnly(;|$)/, /; SameSite=Lax(;|$)/, /; Path=\/codec(;|$)/, /; Max-Age=28800(;|$)/])
      assert.match(cookie, attribute);
    assert.doesNotMatch(cookie, /; Secure/, 'not Secure over plain HTTP (the lab), or the browser would drop it');
    const viaCookie = await withCodec.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { cookie: cookie.split(';')[0]! },
      payload: body,
    });
    assert.equal(viaCookie.statusCode, 200);
    assert.ok(!viaCookie.body.includes(TOKENS.viewer), 'the answer does not echo the token');
    await withCodec.close();
  });
});

describe('validation', () => {
  test('400 names the offending fields of the nested request', async () => {
    const r = request() as unknown as Record<string, Record<string, unknown>>;
    r.gmsa!.name = 'this-name-is-too-long';
    r.azure!.keyVault = { name: 'kv', secretName: 's' };
    r.domain!.dnsServer = '10.0.0.300';
    (r as Record<string, unknown>).extra = 1;
    const res = await post(r);
    assert.equal(res.statusCode, 400);
    assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
    const fields = Object.fromEntries(
      (res.json().errors as { field: string; message: string }[]).map((e) => [e.field, e.message]),
    );
    assert.match(fields['/gmsa/name']!, /15/);
    assert.match(fields['/azure/keyVault/name']!, /3-24/);
    assert.match(fields['/domain/dnsServer']!, /IPv4/);
    assert.equal(fields['/extra'], 'unknown field');
  });

  test('400 for a missing section and for a body that is not an object', async () => {
    const r = request() as unknown as Record<string, unknown>;
    delete r.cluster;
    const res = await post(r);
    assert.equal(res.statusCode, 400);
    assert.ok(res.json().errors.some((e: { field: string }) => e.field === '/cluster'));
    assert.equal((await post([1, 2])).statusCode, 400);
  });

  test('the PowerShell params object: passwords are refused with where credentials belong', async () => {
    const res = await post({
      'aks-cluster-name': 'aks1',
      'gmsa-domain-user-password': 'P@ssw0rd!',
      'domain-admin-user-password': 'x',
    });
    assert.equal(res.statusCode, 400);
    const errors = res.json().errors as { field: string; message: string }[];
    assert.match(errors.find((e) => e.field === '/gmsa-domain-user-password')!.message, /Key Vault/);
    assert.match(errors.find((e) => e.field === '/domain-admin-user-password')!.message, /worker configuration/);
    assert.ok(!res.body.includes('P@ssw0rd!'), 'the answer does not echo the password');
  });

  test('the PowerShell params object starts a provisioning, and its errors use its own keys', async () => {
    const flat = {
      ...examplePowerShellParams({ cluster: uniqueCluster(), spec: uniqueSpec('flat') }),
      'logs-directory': 'C:\\logs',
    };
    const bad = await post({ ...flat, 'gmsa-spec-name': 'Not_RFC1123' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().errors[0].field, '/gmsa-spec-name');
    const ok = await post(flat);
    assert.equal(ok.statusCode, 202, ok.body);
    await waitFor(ok.json().id, (b) => b.status === 'COMPLETED', 'the flat-params provisioning to complete');
  });

  test('400 for a malformed id, 404 for an unknown one', async () => {
    assert.equal((await app.inject({ url: '/v1/provisionings/not..an-id', headers: as('viewer') })).statusCode, 400);
    const res = await app.inject({ url: '/v1/provisionings/gmsa-aks1-nothing-0123456789ab', headers: as('viewer') });
    assert.equal(res.statusCode, 404);
  });
});

describe('provisionings on the real server', () => {
  test('POST starts the workflow; GET reads its progress until COMPLETED with outputs', async () => {
    const body = request();
    const res = await post(body);
    assert.equal(res.statusCode, 202);
    const { id, status, links } = res.json();
    assert.equal(status, 'RUNNING');
    assert.match(id, /^gmsa-aks-/);
    assert.equal(res.headers.location, `/v1/provisionings/${id}`);
    assert.match(links.temporalUi, new RegExp(`/namespaces/default/workflows/${id}$`));
    const done = await waitFor(id, (b) => b.status === 'COMPLETED', 'completion');
    assert.equal(done.phase, 'completed');
    assert.equal((done.steps as unknown[]).length, STEP_NAMES.length);
    assert.ok((done.steps as { status: string }[]).every((s) => s.status === 'succeeded'));
    const r = done.outputs as Record<string, string>;
    assert.equal(r.credentialSpecName, body.gmsa.credentialSpecName, "this request's own spec");
    assert.equal(r.gmsaDn, `CN=${body.gmsa.name},CN=Managed Service Accounts,DC=contoso,DC=com`);
    assert.equal(done.credentialSpecName, body.gmsa.credentialSpecName);
    assert.equal(done.cluster, body.cluster.name);
  });

  test('409 while one runs for the same cluster and spec, with the running id; approve lets it finish', async () => {
    const r = request({ options: { requireAdApproval: true } });
    const first = await post(r);
    assert.equal(first.statusCode, 202);
    const { id } = first.json();
    const second = await post(r);
    assert.equal(second.statusCode, 409);
    assert.equal(second.json().runningId, id);
    await waitFor(id, (b) => stepOf(b, 'awaitAdApproval')?.status === 'waiting', 'the approval wait');
    const approve = await app.inject({
      method: 'POST',
      url: `/v1/provisionings/${id}/approve`,
      headers: as('approver'),
      payload: { comment: 'key replicated' },
    });
    assert.equal(approve.statusCode, 202);
    const done = await waitFor(id, (b) => b.status === 'COMPLETED', 'completion after approval');
    assert.deepEqual(
      { ...(done.approval as object), at: undefined },
      { by: 'alice', comment: 'key replicated', at: undefined },
    );
    const again = await app.inject({ method: 'POST', url: `/v1/provisionings/${id}/approve`, headers: as('approver') });
    assert.equal(again.statusCode, 409, 'a finished provisioning cannot be approved');
  });

  test('approve answers 503 naming GMSA_APPROVAL_KEY when the API has no approval key', async () => {
    const keyless = await buildApp({
      service: new ProvisioningService(env.client, readTemporalSettings({})),
      tokens,
    });
    const res = await keyless.inject({
      method: 'POST',
      url: '/v1/provisionings/gmsa-aks1-webapp01-0123456789ab/approve',
      headers: as('approver'),
    });
    assert.equal(res.statusCode, 503);
    assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
    assert.match(res.json().detail, /GMSA_APPROVAL_KEY/);
    await keyless.close();
  });

  test('cancel stops a running provisioning: CANCELED', async () => {
    const { id } = (await post(request({ options: { requireAdApproval: true } }))).json();
    await waitFor(id, (b) => stepOf(b, 'awaitAdApproval')?.status === 'waiting', 'the approval wait');
    const res = await app.inject({ method: 'POST', url: `/v1/provisionings/${id}/cancel`, headers: as('operator') });
    assert.equal(res.statusCode, 202);
    const done = await waitFor(id, (b) => b.status === 'CANCELED', 'cancellation');
    assert.equal(done.phase, 'cancelled');
  });

  test('GET /v1/provisionings lists newest first and filters by status and cluster', async () => {
    const cluster = uniqueCluster();
    const list = async (q: string) => {
      const res = await app.inject({ url: `/v1/provisionings?${q}`, headers: as('viewer') });
      assert.equal(res.statusCode, 200);
      return res.json().items as { id: string; status: string; cluster: string; startedAt: string }[];
    };
    const running = `cluster=${cluster}&status=RUNNING`;
    // Visibility is eventually consistent: poll for each run, with a deadline. The second starts only once the
    // first is listed and the clock has moved past its start, so "newest first" has one right answer.
    const a = (await post(request({ options: { requireAdApproval: true } }, cluster))).json().id as string;
    const [listedA] = await pollUntil('the first run to be listed', async () => {
      const items = await list(running);
      return items.length === 1 && items;
    });
    await pollUntil("the clock to pass the first run's start", () => Date.now() > Date.parse(listedA!.startedAt));
    const b = (await post(request({ options: { requireAdApproval: true } }, cluster))).json().id as string;
    const items = await pollUntil('both runs to be listed', async () => {
      const items = await list(running);
      return items.length >= 2 && items;
    });
    assert.deepEqual(
      items.map((i) => i.id),
      [b, a],
    );
    assert.ok(items.every((i) => i.cluster === cluster && i.status === 'RUNNING'));
    const bogus = await app.inject({ url: '/v1/provisionings?status=BOGUS&color=red', headers: as('viewer') });
    assert.equal(bogus.statusCode, 400);
    const fields = (bogus.json().errors as { field: string }[]).map((e) => e.field);
    assert.ok(fields.includes('/querystring/status'), JSON.stringify(fields));
    assert.ok(fields.includes('/querystring/color'), JSON.stringify(fields));
    for (const id of [a, b])
      await app.inject({ method: 'POST', url: `/v1/provisionings/${id}/cancel`, headers: as('operator') });
  });
});
