/**
 * How a step's pending activity (describe's `pendingActivities`, as the server sends it) is read onto the step the
 * workflow's query reports: attempts, the last failure, backoff as `waiting`; and the activity id of runs started
 * before the retries moved to the server (`<step>-<attempt>`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import proto from '@temporalio/proto';
import { stepOfActivity, withPendingActivities, type PendingActivity } from '../../api/pending-activity.js';
import type { Step } from '../../api/schemas.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
/** A protobuf Timestamp `ms` from NOW. */
const ts = (ms: number) => ({ seconds: Math.floor((NOW + ms) / 1000), nanos: ((NOW + ms) % 1000) * 1e6 });
/** A pending activity as the client decodes describe's answer: a protobuf message, its seconds Longs. */
const pendingActivity = (o: object): PendingActivity =>
  proto.temporal.api.workflow.v1.PendingActivityInfo.fromObject(o);
const iso = (ms: number) => new Date(NOW + ms).toISOString();
const SCHEDULED = 1;
const STARTED = 2;

const running = (name: Step['name'], extra: Partial<Step> = {}): Step => ({
  name,
  status: 'running',
  attempts: 1,
  startedAt: iso(-60_000),
  ...extra,
});

test('in backoff: waiting until the next attempt, attempts started so far, the last failure scrubbed', () => {
  const pending = pendingActivity({
    activityId: 'confirmAksGmsa',
    state: SCHEDULED,
    attempt: 3,
    maximumAttempts: 6,
    lastFailure: { message: 'ARM 503 for token=abc123secret', applicationFailureInfo: { type: 'Transient' } },
    lastAttemptCompleteTime: ts(-2_000),
    nextAttemptScheduleTime: ts(30_000),
  });
  const [step] = withPendingActivities([running('confirmAksGmsa')], [pending], NOW);
  assert.deepEqual(step, {
    name: 'confirmAksGmsa',
    status: 'waiting',
    attempts: 2,
    startedAt: iso(-60_000),
    lastError: { message: 'ARM 503 for token=[redacted]', type: 'Transient', retryable: true, at: iso(-2_000) },
    waitUntil: iso(30_000),
  });
});

test('an attempt on a worker is running with its number; the failure before it stays the last error', () => {
  const pending = pendingActivity({
    activityId: 'ensureGmsa',
    state: STARTED,
    attempt: 2,
    lastFailure: { message: 'LDAP busy', applicationFailureInfo: { type: 'Transient' } },
    lastAttemptCompleteTime: ts(-1_000),
  });
  const [step] = withPendingActivities([running('ensureGmsa')], [pending], NOW);
  assert.equal(step!.status, 'running');
  assert.equal(step!.attempts, 2);
  assert.equal(step!.waitUntil, undefined);
  assert.deepEqual(step!.lastError, { message: 'LDAP busy', type: 'Transient', retryable: true, at: iso(-1_000) });
});

test('a timed-out attempt names its kind; a next attempt already due is running, not waiting', () => {
  const pending = pendingActivity({
    activityId: 'grantKeyVaultAccess',
    state: SCHEDULED,
    attempt: 2,
    lastFailure: { message: 'activity StartToClose timeout', timeoutFailureInfo: {} },
    lastAttemptCompleteTime: ts(-5_000),
    nextAttemptScheduleTime: ts(-1),
  });
  const [step] = withPendingActivities([running('grantKeyVaultAccess')], [pending], NOW);
  assert.equal(step!.status, 'running');
  assert.equal(step!.attempts, 2);
  assert.equal(step!.lastError?.type, 'Timeout');
});

test('runs started before the change: `<step>-<attempt>` is that step, the attempt is in the id', () => {
  assert.deepEqual(stepOfActivity('ensureKeyVault-3'), { step: 'ensureKeyVault', attemptInId: 3 });
  assert.deepEqual(stepOfActivity('ensureKeyVault'), { step: 'ensureKeyVault' });
  assert.equal(stepOfActivity('removeGmsa'), undefined, 'a rollback activity is no step');
  assert.equal(stepOfActivity('notAStep-2'), undefined);
  // Each old attempt was an activity of one try: the server says attempt 1 and knows no earlier failure; the query
  // knows both, and keeps them.
  const fromQuery = running('ensureKeyVault', {
    attempts: 3,
    lastError: { message: 'vault busy', type: 'Transient', retryable: true, at: iso(-3_000) },
  });
  const pending = pendingActivity({ activityId: 'ensureKeyVault-3', state: STARTED, attempt: 1 });
  const [step] = withPendingActivities([fromQuery], [pending], NOW);
  assert.equal(step!.status, 'running');
  assert.equal(step!.attempts, 3);
  assert.deepEqual(step!.lastError, fromQuery.lastError);
});

test('a step the query reports as finished, pending or without a pending activity is left as the query says', () => {
  const steps: Step[] = [
    { name: 'confirmAksGmsa', status: 'succeeded', attempts: 1, endedAt: iso(-10) },
    { name: 'ensureKeyVault', status: 'pending', attempts: 0 },
    running('ensureManagedIdentity'),
    { name: 'awaitAdApproval', status: 'waiting', attempts: 0, waitUntil: iso(3_600_000) },
  ];
  const pending = [
    pendingActivity({ activityId: 'confirmAksGmsa', state: SCHEDULED, attempt: 2, nextAttemptScheduleTime: ts(5_000) }),
    pendingActivity({ activityId: 'ensureKeyVault', state: SCHEDULED, attempt: 1 }),
  ];
  assert.deepEqual(withPendingActivities(steps, pending, NOW), steps);
});
