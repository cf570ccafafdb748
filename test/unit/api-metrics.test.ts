/**
 * The API's `GET /metrics` (api/plugins/metrics.ts) on the real app: requests counted and timed by route pattern,
 * method and status (never the URL with its ids), a registry per app, the Node process's metrics, and the optional
 * token. No Temporal: every request here is answered before the service would be asked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { UNMATCHED_ROUTE } from '../../api/plugins/metrics.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import { createLogger } from '../../config/logger.js';
import { HTTP_DURATION, HTTP_REQUESTS, METRIC_FAMILIES } from '../../contract/metrics.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { parseScrape } from '../support/prometheus.js';

// Never dialled: a lazy connection connects on first use, and no request here reaches Temporal.
const settings = readTemporalSettings({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
const client = new Client({ connection: Connection.lazy({ address: settings.address }) });

async function app(metricsToken?: string) {
  return buildApp({
    service: new ProvisioningService(client, settings),
    tokens: TokenTable.parse('viewer:metrics-viewer-token-0000'),
    logger: createLogger('silent', 'api'),
    metricsToken,
  });
}

async function scrape(a: Awaited<ReturnType<typeof app>>, headers: Record<string, string> = {}) {
  const res = await a.inject({ method: 'GET', url: '/metrics', headers });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return { text: res.body, ...parseScrape(res.body) };
}

test('requests are counted and timed by route pattern, method and status; ids and unknown paths never show', async () => {
  const a = await app();
  try {
    for (let i = 0; i < 3; i++) assert.equal((await a.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    for (const id of ['gmsa-aks1-web-0a1b2c3d', 'gmsa-aks2-api-4e5f6a7b'])
      assert.equal((await a.inject({ method: 'GET', url: `/v1/provisionings/${id}` })).statusCode, 401);
    assert.equal((await a.inject({ method: 'DELETE', url: '/no/such/path-9f8e7d' })).statusCode, 404);

    const m = await scrape(a);
    const byRoute = (route: string, method: string, status: string) => ({ route, method, status });
    assert.equal(m.sum(HTTP_REQUESTS, byRoute('/healthz', 'GET', '200')), 3);
    assert.equal(m.sum(HTTP_REQUESTS, byRoute('/v1/provisionings/:id', 'GET', '401')), 2);
    assert.equal(m.sum(HTTP_REQUESTS, byRoute(UNMATCHED_ROUTE, 'DELETE', '404')), 1);
    // Nothing else was asked before this scrape (the scrape itself is counted once it is answered).
    assert.equal(m.sum(HTTP_REQUESTS), 6);
    assert.equal(m.sum(`${HTTP_DURATION}_count`, byRoute('/v1/provisionings/:id', 'GET', '401')), 2);
    assert.equal(m.sum(`${HTTP_DURATION}_count`), 6, 'one duration per answer');
    assert.ok(m.sum(`${HTTP_DURATION}_sum`) > 0, 'durations are measured');
    assert.equal(m.types.get(HTTP_REQUESTS), 'counter');
    assert.equal(m.types.get(HTTP_DURATION), 'histogram');
    for (const raw of ['0a1b2c3d', '4e5f6a7b', 'no/such', 'path-9f8e7d']) assert.ok(!m.text.includes(raw), raw);

    const again = await scrape(a);
    assert.equal(again.sum(HTTP_REQUESTS, byRoute('/metrics', 'GET', '200')), 1, 'the first scrape, counted');
  } finally {
    await a.close();
  }
});

test('each app counts its own requests; the Node process metrics come with every app', async () => {
  const [a, b] = [await app(), await app()];
  try {
    await a.inject({ method: 'GET', url: '/healthz' });
    await a.inject({ method: 'GET', url: '/healthz' });
    await b.inject({ method: 'GET', url: '/healthz' });
    const [ma, mb] = [await scrape(a), await scrape(b)];
    assert.equal(ma.sum(HTTP_REQUESTS, { route: '/healthz' }), 2);
    assert.equal(mb.sum(HTTP_REQUESTS, { route: '/healthz' }), 1);
    for (const f of METRIC_FAMILIES.filter((f) => f.by === 'node')) {
      assert.ok(ma.types.has(f.name), `${f.name} in the first app's scrape`);
      assert.ok(mb.types.has(f.name), `${f.name} in the second app's scrape`);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('GMSA_METRICS_TOKEN: /metrics asks for it, says which setting, and never echoes what it was sent', async () => {
  const token = 'metrics-scrape-token-5b6c7d8e';
  const a = await app(token);
  try {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-1a2b3c4d' }, { authorization: token }]) {
      const res = await a.inject({ method: 'GET', url: '/metrics', headers });
      assert.equal(res.statusCode, 401, res.body);
      assert.match(res.body, /GMSA_METRICS_TOKEN/);
      assert.ok(!res.body.includes('1a2b3c4d') && !res.body.includes('5b6c7d8e'), res.body);
    }
    const m = await scrape(a, { authorization: `Bearer ${token}` });
    assert.equal(m.sum(HTTP_REQUESTS, { route: '/metrics', status: '401' }), 3);
    assert.ok(!m.text.includes('5b6c7d8e'));
  } finally {
    await a.close();
  }
});

test('without a token, /metrics answers anybody (DESIGN: bind it to an internal address)', async () => {
  const a = await app();
  try {
    await scrape(a);
  } finally {
    await a.close();
  }
});
