/**
 * The two failure classes every activity speaks. The server retries anything that is not marked non-retryable
 * (throttling, 5xx, timeouts, resets, LDAP busy) by the step's retry policy; a non-retryable failure, or one of the
 * types below other than Transient, ends the step at once with its message.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Failure types; all but Transient are final even when thrown without the non-retryable flag (nonRetryableErrorTypes). */
export const ErrorType = {
  NotConfigured: 'NotConfigured',
  InvalidInput: 'InvalidInput',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  NotFound: 'NotFound',
  Conflict: 'Conflict',
  PreconditionFailed: 'PreconditionFailed',
  Transient: 'Transient',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** A failure a retry cannot fix: the message must say what to change. */
export function fatal(type: Exclude<ErrorType, 'Transient'>, message: string, cause?: Error): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, cause });
}

/** Details a retryable failure carries: runs started before the server kept the retries read the delay here. */
export interface RetryHint {
  retryAfterMs?: number;
}

/**
 * A failure worth retrying. `retryAfterMs` honours a server's Retry-After: as `nextRetryDelay` the Temporal server
 * waits exactly that long before the next attempt (instead of the step's backoff); the same value also travels in
 * the failure's details for workflow code that ran its own retry loop (workflows/legacy/).
 */
export function transient(message: string, retryAfterMs?: number, cause?: Error): ApplicationFailure {
  const hint: RetryHint = { retryAfterMs };
  return ApplicationFailure.create({
    type: ErrorType.Transient,
    message,
    nonRetryable: false,
    details: [hint],
    cause,
    // Not for 0: the server takes a zero nextRetryDelay as "no retry" (RETRY_STATE_TIMEOUT), not "retry now".
    ...(retryAfterMs !== undefined && retryAfterMs > 0 ? { nextRetryDelay: retryAfterMs } : {}),
  });
}

/** What an activity without a real implementation does: refuse, never report success. */
export function notConfigured(what: string): ApplicationFailure {
  return fatal(ErrorType.NotConfigured, `not configured: ${what}`);
}
