/**
 * A retrying step as GET /v1/provisionings/{id} shows it, on the real Temporal dev server: the server keeps the
 * retries, so attempts, the last error and the next attempt come from the step's pending activity. Activity doubles
 * fail transiently; barriers hold an attempt open, and a Retry-After of an hour holds the backoff, so each state
 * the test reads lasts until the test ends it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import type { ProvisioningView, Step } from '../../api/schemas.js';
import { transient } from '../../contract/errors.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { activityDoubles, doubleResult, type Overrides } from '../../lab/activity-doubles.js';
import { deferred, pollUntil } from '../support/poll.js';
import { exampleRequest, uniqueSpec } from '../support/requests.js';
import { devServerEnv, uniqueQueue, workflowBundle } from '../support/temporal.js';

const VIEWER = 'retries-viewer-token-0123456789';
const OPERATOR = 'retries-operator-token-0123456789';
const tokens = TokenTable.parse(`viewer:${VIEWER},operator:${OPERATOR}`);
const HOUR = 3_600_000;

let env: TestWorkflowEnvironment;
/** describe() calls the API made, counted by a client interceptor: one per GET, not one per step. */
let describes = 0;

before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

/** The API and a worker of `bundle` running doubles with `overrides`, on a task queue of their own. */
async function stack(overrides: Overrides, bundle?: WorkflowBundleWithSourceMap) {
  const taskQueue = uniqueQueue('retries');
  const count: WorkflowClientInterceptor = {
    describe: (input, next) => {
      describes++;
      return next(input);
    },
  };
  const client = new Client({ connection: env.connection, interceptors: { workflow: [count] } });
  const settings = { ...readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS }), taskQueue };
  // Every GET reads Temporal (no view kept for a moment): the tests count what one read costs.
  const service = new ProvisioningService(client, settings, { readAges: { freshMs: 0, maxAgeMs: 0 } });
  const app = await buildApp({ service, tokens });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle ?? (await workflowBundle()),
    activities: activityDoubles(overrides).activities,
  });
  const running = worker.run();
  return {
    app,
    async get(id: string): Promise<ProvisioningView> {
      const res = await app.inject({ url: `/v1/provisionings/${id}`, headers: { authorization: `Bearer ${VIEWER}` } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    },
    async start(): Promise<string> {
      const r = exampleRequest({ spec: uniqueSpec('retries') });
      r.cluster.name = `aks-retries-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      const res = await app.inject({
        method: 'POST',
        url: '/v1/provisionings',
        headers: { authorization: `Bearer ${OPERATOR}` },
        payload: r,
      });
      assert.equal(res.statusCode, 202, res.body);
      return res.json().id as string;
    },
    async cancel(id: string) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/provisionings/${id}/cancel`,
        headers: { authorization: `Bearer ${OPERATOR}` },
      });
      assert.equal(res.statusCode, 202, res.body);
    },
    async close() {
      worker.shutdown();
      await running;
      await app.close();
    },
  };
}

/** Polls GET until `step` is as `ok` says; returns that view and step. */
async function until(s: Awaited<ReturnType<typeof stack>>, id: string, name: string, ok: (st: Step) => boolean) {
  let last: Step | undefined;
  return pollUntil(
    `${name} in the wanted state`,
    async () => {
      const view = await s.get(id);
      last = view.steps.find((st) => st.name === name);
      return last && ok(last) ? { view, step: last } : undefined;
    },
    { intervalMs: 100, last: () => JSON.stringify(last) },
  );
}

test('a step in backoff shows attempts 2, the last error and the next attempt; one describe per GET', async () => {
  const attempt1 = { started: deferred(), release: deferred() };
  let calls = 0;
  const s = await stack({
    confirmAksGmsa: async (input) => {
      calls++;
      if (calls === 1) {
        attempt1.started.resolve();
        await attempt1.release.promise;
        // A Retry-After of 1 ms: the second attempt follows at once.
        throw transient('ARM answered 503 (attempt 1)', 1);
      }
      // Retry-After one hour: the step stays in backoff until the test cancels the run.
      if (calls === 2) throw transient('ARM answered 429 for client_secret=hunter2-not-a-secret (attempt 2)', HOUR);
      return doubleResult('confirmAksGmsa', input);
    },
  });
  try {
    const id = await s.start();
    await attempt1.started.promise;
    const first = await until(s, id, 'confirmAksGmsa', (st) => st.status === 'running');
    assert.equal(first.step.attempts, 1);
    assert.equal(first.step.lastError, undefined, 'no failure yet');

    attempt1.release.resolve();
    const t0 = Date.now();
    const { view, step } = await until(s, id, 'confirmAksGmsa', (st) => st.status === 'waiting');
    assert.equal(view.status, 'RUNNING');
    assert.equal(step.attempts, 2, 'two attempts have run');
    assert.equal(step.lastError?.message, 'ARM answered 429 for client_secret=[redacted] (attempt 2)');
    assert.equal(step.lastError?.type, 'Transient');
    assert.equal(step.lastError?.retryable, true);
    assert.ok(Date.parse(step.lastError!.at) <= Date.now(), `the failure is in the past: ${step.lastError!.at}`);
    // The next attempt is the Retry-After away from the failure: well beyond anything this test waits for.
    assert.ok(Date.parse(step.waitUntil!) >= t0 + HOUR - 60_000, `next attempt in about an hour: ${step.waitUntil}`);
    assert.equal(calls, 2, 'no third attempt while in backoff');

    // One describe per GET, however many steps there are.
    const seen = describes;
    await s.get(id);
    assert.equal(describes - seen, 1);

    await s.cancel(id);
    await pollUntil('the run to be cancelled', async () => (await s.get(id)).status === 'CANCELED');
  } finally {
    attempt1.release.resolve();
    await s.close();
  }
});

test('a run of the build before the change (activity id <step>-<attempt>) still reads right', async () => {
  const attempt2 = { started: deferred(), release: deferred() };
  let calls = 0;
  const old = await bundleWorkflowCode({
    workflowsPath: path.join(path.dirname(fileURLToPath(import.meta.url)), 'old-build-workflows.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const s = await stack(
    {
      ensureKeyVault: async (input) => {
        calls++;
        if (calls === 1) throw transient('vault is busy (attempt 1)', 1);
        attempt2.started.resolve();
        await attempt2.release.promise;
        return doubleResult('ensureKeyVault', input);
      },
    },
    old,
  );
  try {
    const id = await s.start();
    await attempt2.started.promise;
    const { step } = await until(s, id, 'ensureKeyVault', (st) => st.status === 'running' && st.attempts === 2);
    assert.equal(step.lastError?.message, 'vault is busy (attempt 1)', 'the failure before this attempt');
    assert.equal(step.waitUntil, undefined);
    attempt2.release.resolve();
    const done = await pollUntil('the old run to complete', async () => {
      const v = await s.get(id);
      return v.status === 'COMPLETED' && v;
    });
    assert.equal(done.steps.find((st) => st.name === 'ensureKeyVault')?.status, 'succeeded');
  } finally {
    attempt2.release.resolve();
    await s.close();
  }
});
