/**
 * The durable KDS wait on the time-skipping test server: with no approval the workflow moves on when the root key
 * becomes usable (10 hours of workflow time, never more), it does not wait at all for a key usable already, an
 * approval that comes before the key is usable does not outrun it, and the approval's own timers (what the Temporal
 * UI shows while it waits) never end the wait.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import protos from '@temporalio/proto';
import { PHASE_ATTRIBUTE } from '../../contract/phase-attribute.js';
import { approveAdStepUpdate, progressQuery } from '../../workflows/definitions.js';
import { activityDoubles } from '../../lab/activity-doubles.js';
import { exampleRequest, uniqueSpec } from '../support/requests.js';
import { timeSkippingEnv, uniqueQueue, workflowBundle } from '../support/temporal.js';

const HOUR = 3600_000;
let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
  // The workflow keeps GmsaPhase current; the test server knows only the search attributes it is told of.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: {
      [PHASE_ATTRIBUTE.name]: protos.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    },
  });
});
after(async () => {
  await env?.teardown();
});

/**
 * Runs a provisioning whose new root key is usable `usableInMs` after start; with `approveAfterMs`, approves that
 * long (workflow time) after the start. Returns workflow time elapsed, progress, calls and the history's timers.
 */
async function runWithKeyUsableIn(
  usableInMs: number,
  o: { approveAfterMs?: number; requireAdApproval?: boolean } = {},
) {
  const taskQueue = uniqueQueue('kds');
  // The double answers in the server's clock (skipped ahead by the test server), not the machine's.
  const { activities, calls } = activityDoubles({
    ensureKdsRootKey: async () => ({
      keyId: 'k1',
      usableAt: new Date(Context.current().info.currentAttemptScheduledTimestampMs + usableInMs).toISOString(),
      created: true,
    }),
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const request = exampleRequest({ spec: uniqueSpec('kds') });
  request.options.requireAdApproval = o.requireAdApproval ?? false;
  const handle = await env.client.workflow.start('provisionGmsa', {
    taskQueue,
    workflowId: `kds-${request.gmsa.credentialSpecName}`,
    args: [request],
  });
  let approvedAt: number | undefined;
  const progress = await worker.runUntil(async () => {
    if (o.approveAfterMs !== undefined) {
      await env.sleep(o.approveAfterMs);
      const approval = await handle.executeUpdate(approveAdStepUpdate, {
        args: [{ by: 'ad-operator', at: new Date().toISOString(), proof: 'signed' }],
      });
      approvedAt = Date.parse(approval.at);
    }
    await handle.result();
    // Queried while the worker still runs: a closed workflow's query is answered by replay.
    return handle.query(progressQuery);
  });
  const events = (await handle.fetchHistory()).events ?? [];
  const timers = events.filter((e) => e.timerStartedEventAttributes).length;
  const ms = (e: (typeof events)[number] | undefined) =>
    Number(e?.eventTime?.seconds ?? 0) * 1000 + Math.floor((e?.eventTime?.nanos ?? 0) / 1e6);
  const elapsed = ms(events[events.length - 1]) - ms(events[0]);
  const userScheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'ensureDomainUser',
  );
  return { elapsed, progress, calls, timers, approvedAt, start: ms(events[0]), userScheduledAt: ms(userScheduled) };
}

describe('KDS wait', () => {
  test('with no approval the workflow continues when the timer fires, 10 hours of workflow time later', async () => {
    const { elapsed, progress, timers } = await runWithKeyUsableIn(10 * HOUR);
    assert.ok(elapsed >= 10 * HOUR - 60_000, `waited ${elapsed / HOUR} h`);
    assert.ok(elapsed < 10 * HOUR + 10 * 60_000, `did not wait past the key's use time (${elapsed / HOUR} h)`);
    assert.equal(timers, 1);
    const wait = progress.steps.find((s) => s.name === 'awaitAdApproval')!;
    assert.equal(wait.status, 'succeeded');
    assert.match(wait.summary!, /^KDS root key usable since /);
    assert.equal(progress.phase, 'completed');
  });

  test('never waits longer than 10 hours, even for a key dated further ahead', async () => {
    const { elapsed } = await runWithKeyUsableIn(30 * HOUR);
    assert.ok(elapsed >= 10 * HOUR - 60_000 && elapsed < 10 * HOUR + 10 * 60_000, `waited ${elapsed / HOUR} h`);
  });

  test('does not wait at all when the key is usable already', async () => {
    const { elapsed, progress, timers } = await runWithKeyUsableIn(-HOUR);
    assert.equal(timers, 0, 'no timer in the history');
    assert.ok(elapsed < 60_000, `took ${elapsed} ms of workflow time`);
    assert.equal(progress.steps.find((s) => s.name === 'awaitAdApproval')!.summary, 'KDS root key already usable');
  });

  for (const requireAdApproval of [false, true]) {
    test(`an approval 30 s into a key usable 2 minutes later waits for the key (requireAdApproval ${requireAdApproval})`, async () => {
      const r = await runWithKeyUsableIn(2 * 60_000, { approveAfterMs: 30_000, requireAdApproval });
      assert.equal(r.progress.phase, 'completed', 'the early approval did not fail the run');
      assert.ok(r.approvedAt! - r.start >= 30_000 - 1_000, 'the approval came 30 s in');
      assert.ok(r.approvedAt! - r.start < 2 * 60_000, 'the approval came before the key was usable');
      assert.ok(r.userScheduledAt - r.start >= 2 * 60_000 - 1_000, 'the AD user step waited for the key');
      const wait = r.progress.steps.find((s) => s.name === 'awaitAdApproval')!;
      assert.match(wait.summary!, /^approved by ad-operator; KDS root key usable since /);
      assert.equal(r.progress.approval?.by, 'ad-operator');
    });
  }
});
