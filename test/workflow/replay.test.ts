/**
 * Replays a committed history through today's workflow code, so a change that would break running provisionings
 * (a new step order, a renamed activity, a removed timer) fails the build. The negative control proves the replay
 * really compares: a tampered history must fail.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/temporal.js';

const FIXTURE = new URL('../fixtures/histories/provision-retry-approval.json', import.meta.url);
const history = () => JSON.parse(readFileSync(FIXTURE, 'utf8'));

test('the recorded provisioning (a retry, the approval signal, every step) replays without nondeterminism', async () => {
  const h = history();
  const types = h.events.map((e: { eventType: string }) => e.eventType);
  assert.ok(types.includes('EVENT_TYPE_ACTIVITY_TASK_FAILED'), 'the fixture holds a failed attempt');
  assert.ok(types.includes('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED'), 'the fixture holds the approval');
  assert.ok(types.includes('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'), 'the fixture is a finished run');
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, h);
});

test('negative control: a history whose steps differ from the code fails replay', async () => {
  const h = history();
  const scheduled = h.events.find((e: Record<string, unknown>) => e.activityTaskScheduledEventAttributes);
  scheduled.activityTaskScheduledEventAttributes.activityType.name = 'someOtherActivity';
  await assert.rejects(
    Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, h),
    DeterminismViolationError,
  );
});
