/**
 * Waiting on Azure long-running operations from inside an activity: heartbeat on every poll (and on a timer, in
 * case the server asks for long pauses between polls). A cancellation does not stop the wait: the write is on its
 * way in Azure either way, and the workflow (WAIT_CANCELLATION_COMPLETED) rolls back only once it has settled, so
 * nothing appears after the rollback. Outside an activity (plain tests, benchmarks) the same code just polls.
 */
import type { Context } from '@temporalio/activity';
import { activityContext, beat } from '../keep-alive.js';

/** What both SDK generations' pollers offer (core-lro SimplePollerLike and PollerLike). */
export interface Pollable<T> {
  onProgress(callback: (state: { status?: string }) => void): unknown;
  pollUntilDone(options?: { abortSignal?: AbortSignal }): Promise<T>;
  /** The poller's state, for `resumeFrom` (classic SDKs) on a later attempt. */
  toString(): string;
}

/** What an attempt heartbeats: progress for people, and each operation's poller state for the next attempt. */
export interface LroHeartbeat {
  waitingFor: string;
  status?: string;
  polls: number;
  /** Poller state by operation (`what`): an attempt after a crash polls the same operation instead of starting anew. */
  operations?: Record<string, string>;
}

const HEARTBEAT_EVERY_MS = 5_000;

/** The operations an earlier attempt of this activity was polling when it last heartbeat. */
function savedOperations(ctx: Context | undefined): Record<string, string> {
  const details = ctx?.info.heartbeatDetails as Partial<LroHeartbeat> | undefined;
  return { ...(details?.operations ?? {}) };
}

export async function pollWithHeartbeat<T>(what: string, poller: Pollable<T>): Promise<T> {
  const ctx = activityContext();
  const operations = savedOperations(ctx);
  let polls = 0;
  const report = (status?: string) => {
    operations[what] = poller.toString();
    beat({ waitingFor: what, status, polls, operations } satisfies LroHeartbeat);
  };
  poller.onProgress((state) => {
    polls += 1;
    report(state.status);
  });
  // The write was accepted when the SDK handed over its poller: beat its state now, not at the first progress
  // (a Retry-After or a poll interval away), so an attempt that dies in between leaves its retry something to resume.
  if (ctx && poller.toString()) report();
  const timer = ctx ? setInterval(() => report(), HEARTBEAT_EVERY_MS) : undefined;
  try {
    return await poller.pollUntilDone();
  } finally {
    if (timer) clearInterval(timer);
  }
}

/**
 * A long operation that resumes: when an earlier attempt of this activity heartbeat the poller state of `what`
 * (its worker died mid-poll, or the attempt timed out), `start(resumeFrom)` polls that same operation without
 * sending the write again (core-lro's `restoreFrom`); Azure already runs it, and a second write would only meet
 * "another operation is in progress". If that operation is no longer known (404), the write starts anew.
 */
export async function resumableOperation<T>(
  what: string,
  start: (resumeFrom: string | undefined) => Promise<Pollable<T>>,
): Promise<T> {
  const saved = savedOperations(activityContext())[what];
  if (saved) {
    try {
      return await pollWithHeartbeat(what, await start(saved));
    } catch (e) {
      if ((e as { statusCode?: number } | undefined)?.statusCode !== 404) throw e;
    }
  }
  return pollWithHeartbeat(what, await start(undefined));
}
