/**
 * Replays every committed history through today's workflow code, so a change that would break running
 * provisionings (a new step order, a renamed activity, a removed timer, a change without a patch) fails the build:
 * the retry loop's history from before the patch `step-graph-server-retries` (it must take workflows/legacy/), the
 * step graph's from before `shared-world-ownership` (happy path, retries, approval, failure with rollback, a run
 * caught mid-retry; legacy/provision-v2.ts), the ownership graph's from before `fleet-coordination` (v3: the
 * identity attached by grantKeyVaultAccess), the coordinated graph's from before `day-two-schedules` (v4: no
 * scheduleOperations step), the graph's from before the UI's story (v5: no GmsaPhase, no approval timer, no final
 * progress in the memo), and today's (v6), plus a cancellation awaited and rolled back, and a scale-set
 * coordinator's history.
 * The negative control proves the replay really compares: each history, tampered, must fail.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import {
  APPROVAL_WAIT_TIMERS,
  DAY_TWO_SCHEDULES,
  FINAL_PROGRESS_MEMO,
  FLEET_COORDINATION,
  PHASE_SEARCH_ATTRIBUTE,
  SHARED_WORLD_OWNERSHIP,
  STEP_GRAPH_SERVER_RETRIES,
} from '../../workflows/provision.js';
import { approvalTimerSummary } from '../../workflows/steps.js';
import { workflowBundle } from '../support/temporal.js';

interface Event {
  eventType: string;
  [attributes: string]: unknown;
}
interface History {
  events: Event[];
}
const history = (file: string): History =>
  JSON.parse(readFileSync(new URL(`../fixtures/histories/${file}`, import.meta.url), 'utf8')) as History;
const types = (h: History) => h.events.map((e) => e.eventType.replace(/^EVENT_TYPE_/, ''));
const attrs = <T>(e: Event, key: string) => e[key] as T | undefined;
const patchIds = (h: History) =>
  h.events.flatMap((e) => {
    const m = attrs<{ markerName: string; details?: { 'patch-data'?: { payloads: { data: string }[] } } }>(
      e,
      'markerRecordedEventAttributes',
    );
    const data = m?.details?.['patch-data']?.payloads[0]?.data;
    return data ? [JSON.parse(Buffer.from(data, 'base64').toString()).id as string] : [];
  });
const scheduled = (h: History) =>
  h.events.flatMap((e) => {
    const s = attrs<{ activityType: { name: string } }>(e, 'activityTaskScheduledEventAttributes');
    return s ? [s.activityType.name] : [];
  });
/** The GmsaPhase values the run upserted, in order. */
const phases = (h: History) =>
  h.events.flatMap((e) => {
    const u = attrs<{ searchAttributes: { indexedFields: Record<string, { data: string }> } }>(
      e,
      'upsertWorkflowSearchAttributesEventAttributes',
    );
    const v = u?.searchAttributes.indexedFields.GmsaPhase;
    return v ? [JSON.parse(Buffer.from(v.data, 'base64').toString()) as string] : [];
  });
/** How many times the run wrote its memo. */
const memoWrites = (h: History) => types(h).filter((t) => t === 'WORKFLOW_PROPERTIES_MODIFIED').length;
const maxAttempt = (h: History) =>
  Math.max(
    0,
    ...h.events.map((e) => attrs<{ attempt: number }>(e, 'activityTaskStartedEventAttributes')?.attempt ?? 0),
  );

/** Each fixture with what it must hold, so a fixture re-recorded into something else fails here. */
const FIXTURES: { file: string; holds: (h: History) => void }[] = [
  {
    file: 'provision-retry-approval.json',
    holds: (h) => {
      assert.deepEqual(patchIds(h), [], 'recorded before the patch: replays through workflows/legacy/');
      assert.ok(types(h).includes('ACTIVITY_TASK_FAILED'), 'a failed attempt, retried by the workflow');
      assert.ok(types(h).includes('TIMER_STARTED'), "the workflow's retry timer");
      assert.ok(types(h).includes('WORKFLOW_EXECUTION_SIGNALED'), 'the approval');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v2-happy.json',
    holds: (h) => {
      assert.equal(types(h).filter((t) => t === 'ACTIVITY_TASK_COMPLETED').length, 11);
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v2-retries.json',
    holds: (h) => {
      assert.equal(maxAttempt(h), 3, 'a step failed twice, then succeeded on attempt 3');
      assert.ok(!types(h).includes('TIMER_STARTED'), 'retried by the server, not by a workflow timer');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v2-approval.json',
    holds: (h) => {
      assert.ok(types(h).includes('WORKFLOW_EXECUTION_SIGNALED'), 'the approval');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v2-rollback.json',
    holds: (h) => {
      assert.ok(types(h).includes('ACTIVITY_TASK_FAILED'), 'a failed step');
      const names = h.events.flatMap((e) => {
        const s = attrs<{ activityType: { name: string } }>(e, 'activityTaskScheduledEventAttributes');
        return s ? [s.activityType.name] : [];
      });
      assert.ok(names.includes('removeCredentialSpec') && names.includes('deleteManagedIdentity'), 'the rollback');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_FAILED');
    },
  },
  {
    file: 'provision-v2-mid-retry.json',
    holds: (h) => {
      assert.equal(types(h).at(-1), 'WORKFLOW_TASK_COMPLETED', 'still running when taken');
      assert.equal(types(h).filter((t) => t === 'ACTIVITY_TASK_SCHEDULED').length, 9);
    },
  },
  {
    file: 'provision-v3-happy.json',
    holds: (h) => {
      assert.ok(scheduled(h).includes('findDomainUser'), 'the look-up before any AD write');
      assert.equal(types(h).filter((t) => t === 'ACTIVITY_TASK_COMPLETED').length, 12);
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v3-retries.json',
    holds: (h) => {
      assert.equal(maxAttempt(h), 3, 'a step failed twice, then succeeded on attempt 3');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v3-approval.json',
    holds: (h) => {
      assert.ok(types(h).includes('WORKFLOW_EXECUTION_SIGNALED'), 'a bare signal, which changed nothing');
      assert.ok(types(h).includes('WORKFLOW_EXECUTION_UPDATE_COMPLETED'), 'the signed approval');
      assert.ok(scheduled(h).includes('verifyApproval'), 'checked by the worker');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v3-rollback.json',
    holds: (h) => {
      assert.ok(scheduled(h).includes('revokeKeyVaultAccess') && scheduled(h).includes('deleteUserSecret'));
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_FAILED');
    },
  },
  {
    file: 'provision-v3-cancel.json',
    holds: (h) => {
      const t = types(h);
      assert.ok(t.includes('ACTIVITY_TASK_CANCEL_REQUESTED'), 'the running attempt was asked to stop');
      // Awaited: the attempt's end is recorded before the first removal is scheduled.
      const ended = t.findIndex(
        (x, i) => i > t.indexOf('ACTIVITY_TASK_CANCEL_REQUESTED') && /^ACTIVITY_TASK_(COMPLETED|CANCELED)$/.test(x),
      );
      const firstRemoval = h.events.findIndex((e) =>
        /^(remove|delete|revoke)/.test(
          attrs<{ activityType: { name: string } }>(e, 'activityTaskScheduledEventAttributes')?.activityType.name ?? '',
        ),
      );
      assert.ok(ended > 0 && firstRemoval > ended, 'the rollback began after the attempt ended');
      assert.equal(t.at(-1), 'WORKFLOW_EXECUTION_CANCELED');
    },
  },
  {
    file: 'provision-v3-mid-retry.json',
    holds: (h) => {
      assert.equal(types(h).at(-1), 'WORKFLOW_TASK_COMPLETED', 'still running when taken');
      assert.equal(types(h).filter((t) => t === 'ACTIVITY_TASK_SCHEDULED').length, 10);
    },
  },
  {
    file: 'provision-v4-happy.json',
    holds: (h) => {
      assert.ok(scheduled(h).includes('queueScaleSetChange'), "the identity queued at its scale set's coordinator");
      assert.ok(!scheduled(h).includes('applyScaleSetChanges'), "the PATCH is the coordinator's, not the binding's");
      assert.ok(types(h).includes('WORKFLOW_EXECUTION_SIGNALED'), "the coordinator's answer");
      assert.equal(types(h).filter((t) => t === 'ACTIVITY_TASK_COMPLETED').length, 13);
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v4-retries.json',
    holds: (h) => {
      assert.equal(maxAttempt(h), 3, 'a step failed twice, then succeeded on attempt 3');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v4-approval.json',
    holds: (h) => {
      assert.ok(types(h).includes('WORKFLOW_EXECUTION_UPDATE_COMPLETED'), 'the signed approval');
      assert.ok(scheduled(h).includes('verifyApproval'), 'checked by the worker');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v4-rollback.json',
    holds: (h) => {
      // The identity's detach goes through the coordinator too: a second queueing, after the failure.
      assert.equal(scheduled(h).filter((n) => n === 'queueScaleSetChange').length, 2);
      assert.ok(scheduled(h).includes('revokeKeyVaultAccess') && !scheduled(h).includes('removeScaleSetIdentity'));
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_FAILED');
    },
  },
  {
    file: 'provision-v4-cancel.json',
    holds: (h) => {
      assert.ok(types(h).includes('ACTIVITY_TASK_CANCEL_REQUESTED'), 'the running attempt was asked to stop');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_CANCELED');
    },
  },
  {
    file: 'provision-v4-mid-retry.json',
    holds: (h) => {
      assert.equal(types(h).at(-1), 'WORKFLOW_TASK_COMPLETED', 'still running when taken');
      assert.equal(types(h).filter((t) => t === 'ACTIVITY_TASK_SCHEDULED').length, 11);
    },
  },
  {
    file: 'provision-v5-happy.json',
    holds: (h) => {
      assert.ok(scheduled(h).includes('queueScaleSetChange'), "the identity queued at its scale set's coordinator");
      assert.equal(scheduled(h).at(-1), 'ensureOperationSchedules', 'the Schedules, last, once the chain works');
      assert.equal(types(h).filter((t) => t === 'ACTIVITY_TASK_COMPLETED').length, 14);
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v5-retries.json',
    holds: (h) => {
      assert.equal(maxAttempt(h), 3, 'a step failed twice, then succeeded on attempt 3');
      assert.ok(scheduled(h).includes('ensureOperationSchedules'));
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v5-approval.json',
    holds: (h) => {
      assert.ok(types(h).includes('WORKFLOW_EXECUTION_UPDATE_COMPLETED'), 'the signed approval');
      assert.ok(scheduled(h).includes('verifyApproval'), 'checked by the worker');
      assert.ok(scheduled(h).includes('ensureOperationSchedules'));
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v5-rollback.json',
    holds: (h) => {
      // verifyChain failed: the Schedules were never made, so the rollback has none to delete.
      assert.ok(
        !scheduled(h).includes('ensureOperationSchedules') && !scheduled(h).includes('deleteOperationSchedules'),
      );
      assert.equal(scheduled(h).filter((n) => n === 'queueScaleSetChange').length, 2);
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_FAILED');
    },
  },
  {
    file: 'provision-v5-cancel.json',
    holds: (h) => {
      assert.ok(types(h).includes('ACTIVITY_TASK_CANCEL_REQUESTED'), 'the running attempt was asked to stop');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_CANCELED');
    },
  },
  {
    file: 'provision-v5-mid-retry.json',
    holds: (h) => {
      assert.equal(types(h).at(-1), 'WORKFLOW_TASK_COMPLETED', 'still running when taken');
      assert.equal(types(h).filter((t) => t === 'ACTIVITY_TASK_SCHEDULED').length, 11);
    },
  },
  {
    file: 'provision-v6-happy.json',
    holds: (h) => {
      assert.deepEqual(phases(h), ['running', 'completed']);
      assert.equal(memoWrites(h), 1, 'the final progress, once');
      assert.equal(types(h).filter((t) => t === 'ACTIVITY_TASK_COMPLETED').length, 14);
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v6-retries.json',
    holds: (h) => {
      assert.equal(maxAttempt(h), 3, 'a step failed twice, then succeeded on attempt 3');
      assert.deepEqual(phases(h), ['running', 'completed']);
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v6-approval.json',
    holds: (h) => {
      assert.deepEqual(phases(h), ['running', 'waiting for approval', 'running', 'completed']);
      const timer = h.events.find((e) => e.timerStartedEventAttributes);
      const summary = (timer?.userMetadata as { summary?: { data: string } } | undefined)?.summary?.data;
      assert.ok(summary, 'the approval timer carries a summary');
      const id = /^record-provision-v6-approval-\d+$/;
      const text = JSON.parse(Buffer.from(summary, 'base64').toString()) as string;
      assert.ok(id.test(text.split('/')[3] ?? ''), `names the run in the approve route: ${text}`);
      assert.equal(text, approvalTimerSummary(text.split('/')[3]!));
      assert.ok(types(h).includes('WORKFLOW_EXECUTION_UPDATE_COMPLETED'), 'the signed approval');
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    },
  },
  {
    file: 'provision-v6-rollback.json',
    holds: (h) => {
      assert.deepEqual(phases(h), ['running', 'failed', 'rolling back', 'failed']);
      assert.equal(memoWrites(h), 1, 'the final progress, after the rollback');
      assert.ok(
        types(h).lastIndexOf('WORKFLOW_PROPERTIES_MODIFIED') > types(h).lastIndexOf('ACTIVITY_TASK_COMPLETED'),
        'written after the last removal',
      );
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_FAILED');
    },
  },
  {
    file: 'provision-v6-cancel.json',
    holds: (h) => {
      assert.deepEqual(phases(h), ['running', 'cancelled', 'rolling back', 'cancelled']);
      assert.equal(memoWrites(h), 1);
      assert.equal(types(h).at(-1), 'WORKFLOW_EXECUTION_CANCELED');
    },
  },
  {
    file: 'provision-v6-mid-retry.json',
    holds: (h) => {
      assert.equal(types(h).at(-1), 'WORKFLOW_TASK_COMPLETED', 'still running when taken');
      assert.deepEqual(phases(h), ['running']);
      assert.equal(memoWrites(h), 0, 'not ended: no final progress yet');
    },
  },
  {
    file: 'scale-set-identities-batch.json',
    holds: (h) => {
      assert.deepEqual(patchIds(h), []);
      assert.equal(types(h).filter((t) => t === 'WORKFLOW_EXECUTION_SIGNALED').length, 3, "three bindings' changes");
      assert.deepEqual(scheduled(h), ['applyScaleSetChanges'], 'merged into one write');
      assert.equal(types(h).filter((t) => t === 'EXTERNAL_WORKFLOW_EXECUTION_SIGNALED').length, 3, 'each answered');
    },
  },
];

describe('replay of the committed histories', () => {
  for (const { file, holds } of FIXTURES) {
    test(`${file} replays without nondeterminism`, async () => {
      const h = history(file);
      holds(h);
      if (file.startsWith('provision-v2-')) assert.deepEqual(patchIds(h), [STEP_GRAPH_SERVER_RETRIES]);
      if (file.startsWith('provision-v3-')) {
        assert.deepEqual(patchIds(h), [STEP_GRAPH_SERVER_RETRIES, SHARED_WORLD_OWNERSHIP]);
      }
      if (file.startsWith('provision-v4-')) {
        assert.deepEqual(patchIds(h), [STEP_GRAPH_SERVER_RETRIES, SHARED_WORLD_OWNERSHIP, FLEET_COORDINATION]);
      }
      if (file.startsWith('provision-v5-')) {
        assert.deepEqual(patchIds(h), [
          STEP_GRAPH_SERVER_RETRIES,
          SHARED_WORLD_OWNERSHIP,
          FLEET_COORDINATION,
          DAY_TWO_SCHEDULES,
        ]);
      }
      if (file.startsWith('provision-v6-')) {
        const ids = patchIds(h);
        assert.deepEqual(
          ids.filter((id) => id !== APPROVAL_WAIT_TIMERS && id !== FINAL_PROGRESS_MEMO),
          [
            STEP_GRAPH_SERVER_RETRIES,
            SHARED_WORLD_OWNERSHIP,
            FLEET_COORDINATION,
            DAY_TWO_SCHEDULES,
            PHASE_SEARCH_ATTRIBUTE,
          ],
        );
        assert.equal(
          ids.includes(APPROVAL_WAIT_TIMERS),
          file === 'provision-v6-approval.json',
          'only a run that waits',
        );
        assert.equal(ids.includes(FINAL_PROGRESS_MEMO), file !== 'provision-v6-mid-retry.json', 'every run that ended');
      }
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, h);
    });

    test(`negative control: ${file} with one activity renamed fails replay`, async () => {
      const h = history(file);
      const scheduled = h.events.find((e) => e.activityTaskScheduledEventAttributes);
      attrs<{ activityType: { name: string } }>(scheduled!, 'activityTaskScheduledEventAttributes')!.activityType.name =
        'someOtherActivity';
      await assert.rejects(
        Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, h),
        DeterminismViolationError,
      );
    });
  }
});

describe('the Schedules step needs its patch', () => {
  test('control: scheduleOperations without patched(day-two-schedules) fails to replay a v4 history', async () => {
    const noop = () => {};
    const bundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(
        new URL('../fixtures/histories/altered/no-schedules-patch-workflows.ts', import.meta.url),
      ),
      logger: { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop },
    });
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundle }, history('provision-v4-happy.json')),
      DeterminismViolationError,
    );
  });
});
