/**
 * Waiting on Azure long-running operations from inside an activity: heartbeat on every poll (and on a timer, in
 * case the server asks for long pauses between polls) and stop when Temporal cancels the activity. Outside an
 * activity (plain tests, benchmarks) the same code just polls.
 */
import { Context } from '@temporalio/activity';

/** The activity context when running inside one, else undefined. */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

/** What both SDK generations' pollers offer (core-lro SimplePollerLike and PollerLike). */
export interface Pollable<T> {
  onProgress(callback: (state: { status?: string }) => void): unknown;
  pollUntilDone(options?: { abortSignal?: AbortSignal }): Promise<T>;
}

const HEARTBEAT_EVERY_MS = 5_000;

export async function pollWithHeartbeat<T>(what: string, poller: Pollable<T>): Promise<T> {
  const ctx = activityContext();
  let polls = 0;
  poller.onProgress((state) => {
    polls += 1;
    ctx?.heartbeat({ waitingFor: what, status: state.status, polls });
  });
  const timer = ctx ? setInterval(() => ctx.heartbeat({ waitingFor: what, polls }), HEARTBEAT_EVERY_MS) : undefined;
  try {
    return await poller.pollUntilDone({ abortSignal: ctx?.cancellationSignal });
  } finally {
    if (timer) clearInterval(timer);
  }
}
