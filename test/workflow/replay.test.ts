/**
 * Replays every committed history through today's workflow code, so a change that would break running
 * provisionings (a new step order, a renamed activity, a removed timer, a change without a patch) fails the build:
 * the retry loop's history from before the patch `step-graph-server-retries` (it must take workflows/legacy/), and
 * the step graph's happy path, retries, approval, failure with rollback, and a run caught mid-retry.
 * The negative control proves the replay really compares: each history, tampered, must fail.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { STEP_GRAPH_SERVER_RETRIES } from '../../workflows/provision.js';
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
];

describe('replay of the committed histories', () => {
  for (const { file, holds } of FIXTURES) {
    test(`${file} replays without nondeterminism`, async () => {
      const h = history(file);
      holds(h);
      if (file.startsWith('provision-v2-')) assert.deepEqual(patchIds(h), [STEP_GRAPH_SERVER_RETRIES]);
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
