/**
 * The step-metrics interceptor (worker/step-metrics.ts) around activities run by the SDK's MockActivityEnvironment,
 * its meter a recorder: what an attempt counts, by outcome, and which failures count as retried, by the rules the
 * server applies. test/e2e/metrics.test.ts checks the same through the real exporter after a lab run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure, type MetricMeter, type MetricTags } from '@temporalio/common';
import { sleep, type Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { fatal, transient } from '../../contract/errors.js';
import { STEP_ATTEMPTS, STEP_DURATION, STEP_RETRIES } from '../../contract/metrics.js';
import { stepMetricsInterceptor } from '../../worker/step-metrics.js';

interface Recorded {
  name: string;
  value: number;
  tags: MetricTags;
}

/** A MetricMeter that keeps what was recorded, with the tags of withTags and of each call. */
function recordingMeter(into: Recorded[], base: MetricTags = {}): MetricMeter {
  const metric = <K extends 'counter' | 'histogram' | 'gauge'>(kind: K, name: string, tags: MetricTags) => {
    const self = {
      name,
      kind,
      valueType: 'int' as const,
      add: (value: number, extra: MetricTags = {}) => void into.push({ name, value, tags: { ...tags, ...extra } }),
      record: (value: number, extra: MetricTags = {}) => void into.push({ name, value, tags: { ...tags, ...extra } }),
      set: (value: number, extra: MetricTags = {}) => void into.push({ name, value, tags: { ...tags, ...extra } }),
      withTags: (more: MetricTags) => metric(kind, name, { ...tags, ...more }),
    };
    return self;
  };
  return {
    createCounter: (name) => metric('counter', name, base),
    createHistogram: (name) => metric('histogram', name, base) as never,
    createGauge: (name) => metric('gauge', name, base) as never,
    withTags: (tags) => recordingMeter(into, { ...base, ...tags }),
  } as MetricMeter;
}

async function run(fn: () => Promise<unknown>, info: Partial<Info> = {}, cancelAfterMs?: number) {
  const recorded: Recorded[] = [];
  const env = new MockActivityEnvironment(
    {
      activityType: 'ensureKeyVault',
      attempt: 1,
      // No schedule-to-close (the mock's default is 1 s from 1970: every failure would be past it).
      scheduledTimestampMs: Date.now(),
      scheduleToCloseTimeoutMs: 0,
      retryPolicy: { maximumAttempts: 8, nonRetryableErrorTypes: ['InvalidInput'] },
      ...info,
    },
    { interceptors: [stepMetricsInterceptor], metricMeter: recordingMeter(recorded) },
  );
  if (cancelAfterMs !== undefined) setTimeout(() => env.cancel(), cancelAfterMs);
  const error = await env.run(fn).then(
    () => undefined,
    (e: unknown) => e,
  );
  const of = (name: string) => recorded.filter((r) => r.name === name);
  return { error, recorded, attempts: of(STEP_ATTEMPTS), durations: of(STEP_DURATION), retries: of(STEP_RETRIES) };
}

test('an attempt that succeeds: one attempt, one duration with outcome ok, no retry', async () => {
  const r = await run(async () => 'done');
  assert.equal(r.error, undefined);
  assert.deepEqual(
    r.attempts.map((a) => [a.value, a.tags.step]),
    [[1, 'ensureKeyVault']],
  );
  assert.equal(r.durations.length, 1);
  assert.equal(r.durations[0]!.tags.outcome, 'ok');
  assert.ok(r.durations[0]!.value >= 0 && r.durations[0]!.value < 10, 'in seconds');
  assert.equal(r.retries.length, 0);
});

test('a transient failure with attempts left is counted as retried, by its type, never its message', async () => {
  const r = await run(async () => {
    throw transient('vault PUT answered 503 for kv-secret-name-7x');
  });
  assert.ok(r.error instanceof ApplicationFailure);
  assert.equal(r.durations[0]!.tags.outcome, 'failed');
  assert.deepEqual(
    r.retries.map(({ tags: { step, error_type } }) => ({ step, error_type })),
    [{ step: 'ensureKeyVault', error_type: 'Transient' }],
  );
  assert.ok(!JSON.stringify(r.recorded).includes('kv-secret-name-7x'));
});

test('a plain error is labelled by its class', async () => {
  const r = await run(async () => {
    throw new TypeError('cannot read properties of undefined');
  });
  assert.deepEqual(
    r.retries.map((x) => x.tags.error_type),
    ['TypeError'],
  );
});

test('failures the server does not retry are failed attempts, not retries', async () => {
  const cases: [string, () => Promise<never>, Partial<Info>][] = [
    [
      'non-retryable',
      async () => {
        throw fatal('Forbidden', 'no role');
      },
      {},
    ],
    [
      'a type in nonRetryableErrorTypes',
      async () => {
        throw ApplicationFailure.create({ type: 'InvalidInput', message: 'bad', nonRetryable: false });
      },
      {},
    ],
    [
      'the last attempt',
      async () => {
        throw transient('busy');
      },
      { attempt: 8 },
    ],
    [
      'past schedule-to-close',
      async () => {
        throw transient('busy');
      },
      { scheduledTimestampMs: Date.now() - 60_000, scheduleToCloseTimeoutMs: 30_000 },
    ],
  ];
  for (const [what, fn, info] of cases) {
    const r = await run(fn, info);
    assert.ok(r.error, what);
    assert.equal(r.durations[0]!.tags.outcome, 'failed', what);
    assert.equal(r.attempts.length, 1, what);
    assert.equal(r.retries.length, 0, what);
  }
});

test('an attempt told to stop is cancelled, not failed, and not a retry', async () => {
  const r = await run(() => sleep(60_000), {}, 20);
  assert.ok(r.error, 'the activity ended with the cancellation');
  assert.deepEqual(
    r.durations.map((d) => d.tags.outcome),
    ['cancelled'],
  );
  assert.equal(r.retries.length, 0);
});
