/**
 * What a run shows without a query, on the real Temporal dev server with activity doubles: the final progress in
 * the memo when it ends (completed, failed after its rollback, cancelled; an operation too), encrypted by the
 * product's codec and equal to the `progress` query's answer; the GmsaPhase search attribute a list filter finds;
 * the approval wait as a timer whose summary says how to approve, the approver and a bounded comment in the check's
 * summary line; and the approval wait's metrics where a replay cannot count them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { fatal } from '../../contract/errors.js';
import type { BindingRecord } from '../../contract/operations.js';
import { PHASE_ATTRIBUTE, PHASES } from '../../contract/phase-attribute.js';
import { activityDoubles, doubleResult, type Overrides } from '../../lab/activity-doubles.js';
import { dataConverter, ENCODING, KeyRing } from '../../temporal/codec.js';
import {
  approveAdStepUpdate,
  PROGRESS_MEMO,
  progressQuery,
  type Progress,
  type StepName,
} from '../../workflows/definitions.js';
import { approvalTimerSummary } from '../../workflows/steps.js';
import { deferred, pollUntil, within } from '../support/poll.js';
import { readProgress, runOperation } from '../support/operations.js';
import { uniqueRequest } from '../support/requests.js';
import { devServerEnv, historyOf, uniqueQueue, workflowBundle, type HistoryEvent } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
/** A client and worker with the product's codec: every payload, the memo's too, leaves encrypted. */
const ring = new KeyRing([{ id: 'visible-progress', key: randomBytes(32) }]);
let client: Client;
before(async () => {
  env = await devServerEnv();
  client = new Client({ connection: env.connection, dataConverter: dataConverter(ring) });
});
after(async () => {
  await env?.teardown();
});

/** Starts a provisioning on a worker of its own (with the codec) and hands `body` its handle. */
async function provision<T>(
  overrides: Overrides,
  options: Record<string, unknown>,
  body: (h: WorkflowHandle) => Promise<T>,
): Promise<T> {
  const taskQueue = uniqueQueue('visible');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: activityDoubles(overrides).activities,
    dataConverter: dataConverter(ring),
  });
  const request = uniqueRequest('vis', { options });
  const handle = await client.workflow.start('provisionGmsa', {
    taskQueue,
    workflowId: `visible-${request.gmsa.credentialSpecName}`,
    args: [request],
  });
  return worker.runUntil(body(handle));
}

/** The memo's `progress`, decoded, beside the query's answer and the raw payload's encoding. */
async function finalProgress(h: WorkflowHandle) {
  const d = await h.describe();
  const raw = d.raw.workflowExecutionInfo?.memo?.fields?.[PROGRESS_MEMO];
  assert.ok(raw, 'the memo holds the final progress');
  return {
    memo: d.memo?.[PROGRESS_MEMO] as Progress | undefined,
    query: await h.query(progressQuery),
    encoding: Buffer.from(raw.metadata?.encoding ?? []).toString(),
    rawData: Buffer.from(raw.data ?? []).toString('latin1'),
    phase: d.typedSearchAttributes.get(PHASE_ATTRIBUTE),
  };
}

/** A payload of a history event, through the codec: user metadata (summaries) is encrypted too. */
async function decoded(p: Payload | null | undefined): Promise<unknown> {
  assert.ok(p, 'a payload');
  assert.equal(Buffer.from(p.metadata?.encoding ?? []).toString(), ENCODING, 'encrypted in the history');
  const [plain] = await dataConverter(ring).payloadCodecs[0]!.decode([p]);
  return defaultPayloadConverter.fromPayload(plain!);
}

const phasesIn = (events: HistoryEvent[]) =>
  events.flatMap((e) => {
    const v = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[PHASE_ATTRIBUTE.name];
    return v ? [defaultPayloadConverter.fromPayload(v) as string] : [];
  });

const step = (p: Progress, name: StepName) => p.steps.find((s) => s.name === name)!;

describe('what a run shows without a query', () => {
  test('a completed run keeps the query’s last answer in its memo, encrypted; GmsaPhase says completed', async () => {
    await provision({}, {}, async (h) => {
      await h.result();
      const f = await finalProgress(h);
      assert.equal(f.encoding, ENCODING, 'the memo went through the codec');
      assert.ok(!f.rawData.includes('ensureKeyVault'), 'no step name readable in the stored memo');
      assert.deepEqual(f.memo, f.query);
      assert.equal(f.memo?.phase, 'completed');
      assert.ok(f.memo?.outputs?.secretUri, 'with the outputs');
      assert.equal(f.phase, PHASES.completed);
      assert.deepEqual(phasesIn(await historyOf(h)), [PHASES.running, PHASES.completed]);
    });
  });

  test('a failed run keeps its progress after the rollback, and GmsaPhase went through rolling back', async () => {
    const overrides: Overrides = {
      verifyChain: async () => {
        throw fatal('PreconditionFailed', 'chain broken at "RBAC"');
      },
    };
    await provision(overrides, { rollbackOnFailure: true }, async (h) => {
      await assert.rejects(h.result());
      const f = await finalProgress(h);
      assert.deepEqual(f.memo, f.query);
      assert.match(f.memo!.phase, /^failed: verifyChain failed/);
      assert.equal(f.memo!.rollback?.status, 'done', 'written once the rollback ended');
      assert.ok(f.memo!.rollback!.removed.length > 0);
      assert.equal(f.phase, PHASES.failed);
      assert.deepEqual(phasesIn(await historyOf(h)), [
        PHASES.running,
        PHASES.failed,
        PHASES.rollingBack,
        PHASES.failed,
      ]);
    });
  });

  test('a cancelled run keeps its progress too', async () => {
    const started = deferred();
    const release = deferred();
    const overrides: Overrides = {
      ensureKeyVault: async (input) => {
        started.resolve();
        await within(release.promise, 'the test to cancel the run', 60_000);
        return doubleResult('ensureKeyVault', input);
      },
    };
    await provision(overrides, {}, async (h) => {
      await within(started.promise, 'the vault step to start');
      await h.cancel();
      // Held until the cancellation reached the attempt (3: PENDING_ACTIVITY_STATE_CANCEL_REQUESTED).
      await pollUntil('the cancel request to reach the attempt', async () => {
        const d = await h.describe();
        return (d.raw.pendingActivities ?? []).some((a) => Number(a.state) === 3) || undefined;
      });
      release.resolve();
      await assert.rejects(h.result());
      const f = await finalProgress(h);
      assert.deepEqual(f.memo, f.query);
      assert.equal(f.memo?.phase, 'cancelled');
      assert.equal(step(f.memo!, 'ensureKdsRootKey').status, 'succeeded', 'what ran before is in it');
      assert.equal(f.phase, PHASES.cancelled);
    });
  });

  test('the approval wait: a timer saying how to approve, a filter that finds it, the approver in a summary', async () => {
    await provision({}, { requireAdApproval: true }, async (h) => {
      await pollUntil('the approval wait', async () => {
        const p = await h.query(progressQuery);
        return step(p, 'awaitAdApproval').status === 'waiting' && !step(p, 'awaitAdApproval').waitUntil;
      });
      const timers = (await historyOf(h)).filter((e) => e.timerStartedEventAttributes);
      assert.equal(timers.length, 1, 'one timer, renewed daily: nothing ends the wait but the approval');
      assert.equal(await decoded(timers[0]!.userMetadata?.summary), approvalTimerSummary(h.workflowId));
      const found = await pollUntil('the list filter on GmsaPhase', async () => {
        const ids: string[] = [];
        const query = `${PHASE_ATTRIBUTE.name} = '${PHASES.waitingForApproval}' AND WorkflowId = '${h.workflowId}'`;
        for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
        return ids.length ? ids : undefined;
      });
      assert.deepEqual(found, [h.workflowId]);

      const comment = `change CHG-42\napproved after the call; ${'x'.repeat(400)}`;
      await h.executeUpdate(approveAdStepUpdate, {
        args: [{ by: 'ops-lead', comment, at: new Date().toISOString(), proof: 'signed' }],
      });
      await h.result();
      const check = (await historyOf(h)).find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'verifyApproval',
      );
      const summary = (await decoded(check?.userMetadata?.summary)) as string;
      assert.ok(summary.startsWith('check the approval by ops-lead: change CHG-42 approved after the call; x'));
      assert.ok(summary.length <= 160 && summary.endsWith('…'), `bounded, on one line: ${summary}`);
      const f = await finalProgress(h);
      assert.equal(f.memo?.approval?.by, 'ops-lead');
      assert.equal(f.memo?.approval?.comment, comment, 'the whole comment stays in progress');
      assert.deepEqual(phasesIn(await historyOf(h)), [
        PHASES.running,
        PHASES.waitingForApproval,
        PHASES.running,
        PHASES.completed,
      ]);
    });
  });

  test('a day-2 operation keeps its final progress in the memo and its phase in GmsaPhase', async () => {
    const request = uniqueRequest('vop');
    const b: BindingRecord = {
      bindingId: `gmsa-${request.cluster.name}-${request.gmsa.credentialSpecName}-${randomBytes(6).toString('hex')}`,
      status: 'COMPLETED',
      runId: 'run-of-the-provisioning',
      request,
      outputs: {
        secretUri: `https://${request.azure.keyVault.name}.vault.azure.net/secrets/${request.azure.keyVault.secretName}`,
        credentialSpecName: request.gmsa.credentialSpecName,
      },
    };
    const { activities } = activityDoubles({ readBinding: async () => b });
    const taskQueue = uniqueQueue('visible-op');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
      dataConverter: dataConverter(ring),
    });
    // The query of a finished run is a replay on a worker: asked while this one runs.
    const f = await worker.runUntil(async () => {
      const run = await runOperation(client, taskQueue, 'validate', { bindingId: b.bindingId, mode: 'chain' });
      const got = await finalProgress(client.workflow.getHandle(run.id));
      assert.deepEqual(got.query, await readProgress(client, run.id), 'the operation’s own query');
      return got;
    });
    assert.equal(f.encoding, ENCODING);
    assert.deepEqual(f.memo, f.query);
    assert.equal(f.memo?.phase, 'completed');
    assert.equal(f.phase, PHASES.completed);
  });
});
