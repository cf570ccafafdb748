/**
 * Turns what the Azure SDK throws into the two failure classes of activities/errors.ts: throttling, 5xx,
 * timeouts and resets are transient (with the server's Retry-After); bad input, 401/403, missing resources and
 * conflicts over a name are fatal, with ARM's own code and message kept in the text.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, fatal, transient } from './errors.js';

interface SdkError {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

/** Codes ARM uses for "another operation is running": a retry later succeeds. */
const BUSY_CODES = new Set(['OperationNotAllowed', 'AnotherOperationInProgress', 'OperationPreempted']);
/** Key Vault's 409 for two writes racing on one vault (not the soft-delete name conflict, which shares the code). */
const busyVault = (e: SdkError) =>
  e.code === 'ConflictError' && /changed from the point|serialize/i.test(e.message ?? '');
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'REQUEST_SEND_ERROR',
  'ENOTFOUND',
]);

export const statusOf = (e: unknown) => (e as SdkError | undefined)?.statusCode;
export const codeOf = (e: unknown) => (e as SdkError | undefined)?.code;
export const isNotFound = (e: unknown) => statusOf(e) === 404;

/** Retry-After in ms from the headers ARM and Key Vault send (seconds, an HTTP date, or the ms variants). */
export function retryAfterMs(e: unknown): number | undefined {
  const h = (e as SdkError | undefined)?.response?.headers;
  if (!h) return undefined;
  const ms = h.get('retry-after-ms') ?? h.get('x-ms-retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const ra = h.get('retry-after');
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.round(Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The ApplicationFailure for an SDK error while doing `what` (e.g. "get cluster rg/aks1"); `hint` is appended
 * to fatal messages to say what to change. Already-classified failures pass through.
 */
export function azureFailure(e: unknown, what: string, hint = ''): ApplicationFailure {
  if (e instanceof ApplicationFailure) return e;
  const err = (e ?? {}) as SdkError;
  const cause = e instanceof Error ? e : undefined;
  const status = err.statusCode;
  const text = `${what}: ${err.code && status ? `${status} ${err.code}: ` : ''}${err.message ?? String(e)}`;
  const withHint = hint ? `${text} — ${hint}` : text;
  if (status === undefined) {
    if (err.name === 'AbortError') return transient(`${what}: cancelled`, undefined, cause);
    if (err.name === 'CredentialUnavailableError') return fatal(ErrorType.NotConfigured, withHint, cause);
    if (err.name === 'AuthenticationError') return fatal(ErrorType.Unauthorized, withHint, cause);
    // No HTTP status: a reset, a timeout, DNS, or a failed long-running operation; all worth another try.
    return transient(NETWORK_CODES.has(err.code ?? '') ? `${what}: network ${err.code}` : text, undefined, cause);
  }
  if (status === 429) return transient(text, retryAfterMs(e), cause);
  if (status === 408 || status >= 500) return transient(text, retryAfterMs(e), cause);
  if (status === 401) return fatal(ErrorType.Unauthorized, withHint, cause);
  if (status === 403 && /propagation time/i.test(err.message ?? '')) {
    // Key Vault's ForbiddenByRbac right after a role assignment: Azure RBAC takes up to 10 minutes to get there.
    return transient(`${text} — a new role assignment may still be propagating (up to 10 minutes)`, undefined, cause);
  }
  if (status === 403) return fatal(ErrorType.Forbidden, withHint, cause);
  if (status === 404) return fatal(ErrorType.NotFound, withHint, cause);
  if (status === 409) {
    return (err.code && BUSY_CODES.has(err.code)) || busyVault(err)
      ? transient(text, retryAfterMs(e), cause)
      : fatal(ErrorType.Conflict, withHint, cause);
  }
  if (status === 412) return fatal(ErrorType.PreconditionFailed, withHint, cause);
  return fatal(ErrorType.InvalidInput, withHint, cause);
}

/** Runs one SDK call, classifying whatever it throws. */
export async function azureCall<T>(what: string, fn: () => Promise<T>, hint?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw azureFailure(e, what, hint);
  }
}
