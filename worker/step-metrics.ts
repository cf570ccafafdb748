/**
 * The step metrics (contract/metrics.ts): an activity inbound interceptor that counts every attempt of every step,
 * times it by outcome, and counts the failed attempts the server will retry, by error type. Recorded through the
 * activity context's meter, so they leave through the SDK's own exporter (GMSA_WORKER_METRICS_ADDRESS) with the
 * SDK's labels; without an exporter they cost nothing. Labels are code names only (the activity type, the failure
 * type or error class): never a message, never anything a run was given.
 */
import { CancelledFailure, type Context, type Info } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptors } from '@temporalio/worker';
import { STEP_ATTEMPTS, STEP_DURATION, STEP_RETRIES, type StepOutcome } from '../contract/metrics.js';

/** Registered in worker/create-worker.ts (`interceptors.activity`). */
export function stepMetricsInterceptor(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const meter = ctx.metricMeter;
        const step = ctx.info.activityType;
        meter.createCounter(STEP_ATTEMPTS, 'attempts', 'attempts of a step, every one').add(1, { step });
        const started = performance.now();
        let outcome: StepOutcome = 'ok';
        try {
          return await next(input);
        } catch (err) {
          outcome = cancelled(err, ctx) ? 'cancelled' : 'failed';
          if (outcome === 'failed' && willRetry(err, ctx.info))
            meter
              .createCounter(STEP_RETRIES, 'retries', 'failed attempts of a step that the server retries')
              .add(1, { step, error_type: errorType(err) });
          throw err;
        } finally {
          meter
            .createHistogram(STEP_DURATION, 'float', 's', 'how long an attempt of a step took, by outcome')
            .record((performance.now() - started) / 1000, { step, outcome });
        }
      },
    },
  };
}

/** Cancelled as the SDK tells it: a CancelledFailure or an abort, once the activity was told to stop. */
function cancelled(err: unknown, ctx: Context): boolean {
  const abort = err instanceof Error && err.name === 'AbortError';
  return (err instanceof CancelledFailure || abort) && ctx.cancellationSignal.aborted;
}

/** The failure type the server matches nonRetryableErrorTypes against: the ApplicationFailure's, else the name. */
function failureType(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.type ?? 'Error';
  return err instanceof Error ? err.name : 'Error';
}

const LABEL_SAFE = /[^A-Za-z0-9_.-]/g;

/**
 * The `error_type` label: an ApplicationFailure's type (contract/errors.ts ErrorType, or what the SDK derived),
 * else the error's class name. Code names, bounded, so the label stays low-cardinality and carries no text.
 */
export function errorType(err: unknown): string {
  const raw =
    err instanceof ApplicationFailure
      ? (err.type ?? 'ApplicationFailure')
      : err instanceof Error
        ? err.constructor.name || 'Error'
        : typeof err;
  return raw.replace(LABEL_SAFE, '_').slice(0, 64) || 'unknown';
}

/**
 * Whether the server retries this failure, by the rules it applies: not non-retryable, its type not in the
 * policy's nonRetryableErrorTypes, attempts and the schedule-to-close time left. (An attempt the worker never
 * finishes, a heartbeat or start-to-close timeout, is retried too, but no worker sees it end: it is not counted.)
 */
export function willRetry(err: unknown, info: Info): boolean {
  if (err instanceof ApplicationFailure && err.nonRetryable) return false;
  const policy = info.retryPolicy;
  if (policy?.nonRetryableErrorTypes?.includes(failureType(err))) return false;
  const max = policy?.maximumAttempts ?? 0;
  if (max > 0 && info.attempt >= max) return false;
  const deadline = info.scheduleToCloseTimeoutMs > 0 ? info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs : 0;
  return deadline === 0 || Date.now() < deadline;
}
