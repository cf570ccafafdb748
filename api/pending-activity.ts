/**
 * A step's retry state, read from the server: with the retry policy on the server, the workflow's `progress` sees
 * a retrying step only as running. Temporal's pending activity (from describe) knows its attempt, the last
 * failure and when the next attempt is due, and the Temporal UI shows the same.
 */
import type { google, temporal } from '@temporalio/proto';
import { scrub } from '../domain/scrub.js';
import { STEP_NAMES } from '../workflows/definitions.js';
import type { OperationStep, Step } from './schemas.js';

export type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;
type Timestamp = google.protobuf.ITimestamp;

/** temporal.api.enums.v1.PendingActivityState: waiting for a worker (or for its next attempt) / on a worker. */
const SCHEDULED = 1;

const STEPS: ReadonlySet<string> = new Set(STEP_NAMES);

/**
 * The step an activity id belongs to, and the attempt its id names. The activity id is the step name; runs
 * started before the retries moved to the server ran each attempt as its own activity, `<step>-<attempt>`.
 */
export function stepOfActivity(
  activityId: string,
  steps: ReadonlySet<string> = STEPS,
): { step: string; attemptInId?: number } | undefined {
  if (steps.has(activityId)) return { step: activityId };
  const m = /^(.*)-(\d+)$/.exec(activityId);
  if (m && steps.has(m[1]!)) return { step: m[1]!, attemptInId: Number(m[2]) };
  return undefined;
}

function toIso(ts: Timestamp | null | undefined): string | undefined {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return undefined;
  // Seconds arrive as a protobuf Long (or a number); millisecond precision is all the API shows.
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : Number(String(ts.seconds));
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

/** The failure's own type: an application failure's, else the kind of timeout, cancellation or termination. */
function failureType(f: temporal.api.failure.v1.IFailure): string | undefined {
  if (f.applicationFailureInfo) return f.applicationFailureInfo.type ?? undefined;
  if (f.timeoutFailureInfo) return 'Timeout';
  if (f.canceledFailureInfo) return 'Cancelled';
  if (f.terminatedFailureInfo) return 'Terminated';
  if (f.serverFailureInfo) return 'ServerFailure';
  return undefined;
}

/**
 * The steps with what the server knows of each step's pending activity: attempts started, the last failure, and
 * while in backoff (scheduled, the next attempt in the future) status `waiting` until that attempt. Only steps the
 * workflow reports as running or waiting take it: the query answers after describe, so a step it reports as done
 * has finished since, and its pending activity is stale.
 */
export function withPendingActivities<S extends Step | OperationStep>(
  steps: S[],
  pending: PendingActivity[],
  now = Date.now(),
): S[] {
  // Only the steps the run reports take a pending activity: a day-2 operation's have names of their own.
  const names: ReadonlySet<string> = new Set(steps.map((s) => s.name));
  const byStep = new Map<string, { activity: PendingActivity; attemptInId?: number }>();
  for (const activity of pending) {
    const found = stepOfActivity(activity.activityId ?? '', names);
    if (!found) continue;
    // Old runs: a step has one pending activity at a time; should two show, the later attempt is the current one.
    const seen = byStep.get(found.step);
    if (!seen || (found.attemptInId ?? 0) > (seen.attemptInId ?? 0)) byStep.set(found.step, { ...found, activity });
  }
  return steps.map((step) => {
    const entry = byStep.get(step.name);
    if (!entry || (step.status !== 'running' && step.status !== 'waiting')) return step;
    const { activity, attemptInId } = entry;
    const next = toIso(activity.nextAttemptScheduleTime);
    const backoff = activity.state === SCHEDULED && next !== undefined && Date.parse(next) > now;
    // The server's attempt is the one running, or in backoff the one to come; the API counts attempts started.
    // Old runs name the attempt in the id (each ran with a single try, so the server's count is 1).
    const serverAttempt = attemptInId ?? activity.attempt ?? 1;
    const attempts = Math.max(step.attempts, backoff ? serverAttempt - 1 : serverAttempt);
    const failure = activity.lastFailure;
    const lastError: S['lastError'] = failure
      ? {
          message: scrub(failure.message ?? 'failed'),
          ...(failureType(failure) ? { type: failureType(failure) } : {}),
          // A pending activity is one the server will try again.
          retryable: true,
          at: toIso(activity.lastAttemptCompleteTime) ?? new Date(now).toISOString(),
        }
      : step.lastError;
    return {
      ...step,
      status: backoff ? 'waiting' : 'running',
      attempts,
      ...(lastError ? { lastError } : {}),
      waitUntil: backoff ? next : undefined,
    };
  });
}
