/**
 * Every step heartbeats while it runs: a cancelled run's activities learn of it (and are awaited, the workflow
 * uses WAIT_CANCELLATION_COMPLETED) and a dead worker is noticed within the step's heartbeat timeout instead of its
 * start-to-close. Activities with details of their own (the Azure pollers' resumable state) heartbeat through
 * `beat`, and the keep-alive repeats the latest details rather than erasing them.
 */
import { Context } from '@temporalio/activity';

const latest = new WeakMap<Context, unknown>();

/** The activity context when running inside one, else undefined (plain tests, benchmarks). */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Heartbeats `details`; the keep-alive repeats them until the next beat. */
export function beat(details?: unknown): void {
  const ctx = activityContext();
  if (!ctx) return;
  latest.set(ctx, details);
  ctx.heartbeat(details);
}

/** `fn`, heartbeating half the heartbeat timeout apart while it runs (workflows/step-policies.ts HEARTBEAT). */
export function keepAlive<I, O>(fn: (input: I) => Promise<O>): (input: I) => Promise<O> {
  return async (input: I) => {
    const ctx = activityContext();
    const timeoutMs = ctx?.info.heartbeatTimeoutMs;
    if (!ctx || !timeoutMs) return fn(input);
    // An earlier attempt's details stay until this one beats its own (a resumable poller reads them first).
    if (!latest.has(ctx)) latest.set(ctx, ctx.info.heartbeatDetails);
    const timer = setInterval(() => ctx.heartbeat(latest.get(ctx)), Math.max(1_000, Math.floor(timeoutMs / 2)));
    try {
      return await fn(input);
    } finally {
      clearInterval(timer);
    }
  };
}
