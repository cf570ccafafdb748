/**
 * The two failure classes every activity speaks. The workflow retries anything that is not marked non-retryable
 * (throttling, 5xx, timeouts, resets, LDAP busy); a non-retryable failure ends the step at once with its message.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Failure types; the workflow treats these as final even when thrown without the non-retryable flag. */
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

/** Details a retryable failure carries to the workflow's retry loop. */
export interface RetryHint {
  retryAfterMs?: number;
}

/**
 * A failure worth retrying; `retryAfterMs` honours a server's Retry-After. It travels in the failure's details:
 * the SDK does not hand `nextRetryDelay` back to workflow code.
 */
export function transient(message: string, retryAfterMs?: number, cause?: Error): ApplicationFailure {
  const hint: RetryHint = { retryAfterMs };
  return ApplicationFailure.create({ type: ErrorType.Transient, message, nonRetryable: false, details: [hint], cause });
}

/** What an activity without a real implementation does: refuse, never report success. */
export function notConfigured(what: string): ApplicationFailure {
  return fatal(ErrorType.NotConfigured, `not configured: ${what}`);
}
