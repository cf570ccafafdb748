/**
 * Turns what the Azure SDK throws into the two failure classes of contract/errors.ts: throttling, 5xx,
 * timeouts and resets are transient (with the server's Retry-After); bad input, 401/403, missing resources and
 * conflicts over a name are fatal, with ARM's own code and message kept in the text. A long-running operation
 * that ends Failed is classified by the code Azure put in the operation's error (see `lroFailureClass`).
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import {
  isTransientNetworkCode,
  retryAfterMs as retryAfterFrom,
  UNRESOLVABLE_HOST_CODE,
} from '../../contract/retry.js';

interface SdkError {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

/** Codes ARM uses for "another operation is running": a retry later succeeds. */
const BUSY_CODES = new Set(['AnotherOperationInProgress', 'OperationPreempted']);
/**
 * Compute and AKS say "busy" as OperationNotAllowed with "another operation is in progress" (or "there's an in
 * progress … operation") in the text; the same code also refuses for good ("exceeds the total limit of '100'
 * Virtual Machine instances", a quota), which a retry never fixes.
 */
const BUSY_TEXT = /in progress|another operation|previous operation/i;
/** True when Azure's code and text say another operation holds the resource: it ends, and a retry then succeeds. */
const busyCode = (code: string | undefined, message = '') =>
  !!code && (BUSY_CODES.has(code) || (/^OperationNotAllowed$/i.test(code) && BUSY_TEXT.test(message)));
/** Key Vault's 409 for two writes racing on one vault (not the soft-delete name conflict, which shares the code). */
const busyVault = (e: SdkError) =>
  e.code === 'ConflictError' && /changed from the point|serialize/i.test(e.message ?? '');

/**
 * How long a busy answer waits when it carries no Retry-After: the other operation lasts about 40 s on a scale set
 * and minutes on a cluster (a VMSS update's median, an AKS update's 5-10 minutes), so a retry within a second or
 * two only meets the same 409. The delay is drawn from the range so that a crowd refused
 * together does not come back together ("Retry guidance", Azure Architecture Center: add jitter to back-offs).
 */
export const BUSY_RETRY_MS = { min: 10_000, max: 30_000 } as const;

/**
 * How long Key Vault's "the Key Vault changed from the point the operation began" waits: that 409 is optimistic
 * concurrency, the other write is already applied, so a retry a moment later succeeds unless yet another write
 * lands first. Jittered, so the many bindings of one vault that collided spread out.
 */
export const VAULT_RACE_RETRY_MS = { min: 200, max: 2_000 } as const;

/** One jittered wait within `range` (`random` in [0, 1), for tests): BUSY_RETRY_MS unless told. */
export function busyRetryMs(
  random: () => number = Math.random,
  range: { min: number; max: number } = BUSY_RETRY_MS,
): number {
  return Math.round(range.min + random() * (range.max - range.min));
}

/**
 * What @azure/core-lro (2.x and 3.x, `processOperationStatus`) throws when an operation's status is Failed: a
 * plain Error, no status or code, whose text is the only place Azure's `error.code` and `error.message` survive.
 */
const LRO_FAILED = /^The long-running operation has failed(?:\. ([A-Za-z0-9_.-]+)\. ([\s\S]*))?$/;

/** Azure's code and message from a failed long-running operation, or undefined for any other error. */
export function lroError(e: unknown): { code?: string; message?: string } | undefined {
  if (!(e instanceof Error) || (e as SdkError).statusCode !== undefined) return undefined;
  const m = LRO_FAILED.exec(e.message);
  return m ? { code: m[1], message: m[2] } : undefined;
}

/**
 * Codes of a Failed operation that say "try again" (Azure Resource Manager docs, "Troubleshoot common Azure
 * deployment errors"; AKS troubleshooting, "OperationPreempted"): the platform's own fault, or another operation
 * that took the resource. Anything else is what Azure decided about this request (InvalidParameter, BadRequest,
 * QuotaExceeded, SkuNotAvailable, LinkedAuthorizationFailed, AuthorizationFailed, PropertyChangeNotAllowed, …):
 * the same request fails the same way, so it is fatal and its message says what to change.
 */
const LRO_TRANSIENT =
  /^(OperationPreempted|AnotherOperationInProgress|Internal\w*Error|InternalError|RetryableError|ServerTimeout|GatewayTimeout|OperationTimedOut|ServiceUnavailable|TooManyRequests|\w*Throttled)$/i;

/** The failure class of a Failed operation's code; without a code there is nothing to go on, so retry. */
export function lroFailureClass(code: string | undefined, message = ''): ErrorType {
  if (!code) return ErrorType.Transient;
  // Compute reports a quota overrun as OperationNotAllowed; as an operation's end state it is never "busy".
  if (/quota/i.test(`${code} ${message}`)) return ErrorType.PreconditionFailed;
  if (LRO_TRANSIENT.test(code) || busyCode(code, message)) return ErrorType.Transient;
  if (/Authoriz|Forbidden/i.test(code)) return ErrorType.Forbidden;
  if (/NotFound$/i.test(code)) return ErrorType.NotFound;
  if (/Conflict/i.test(code)) return ErrorType.Conflict;
  if (/SkuNotAvailable|NotSupported|Disallowed|OperationNotAllowed/i.test(code)) return ErrorType.PreconditionFailed;
  return ErrorType.InvalidInput;
}

/** Details a failure from Azure carries: Azure's own code, for callers and tests that branch on it. */
export interface AzureFailureDetails {
  retryAfterMs?: number;
  azureCode?: string;
}

export const statusOf = (e: unknown) => (e as SdkError | undefined)?.statusCode;
export const codeOf = (e: unknown) => (e as SdkError | undefined)?.code;
export const isNotFound = (e: unknown) => statusOf(e) === 404;

/** Retry-After in ms from the headers ARM and Key Vault send (seconds, an HTTP date, or the ms variants). */
export function retryAfterMs(e: unknown): number | undefined {
  const h = (e as SdkError | undefined)?.response?.headers;
  return h ? retryAfterFrom((name) => h.get(name)) : undefined;
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
    const lro = lroError(e);
    if (lro) {
      const type = lroFailureClass(lro.code, lro.message);
      const said = lro.code ? `${lro.code}: ${lro.message ?? ''}` : 'no error code or message from Azure';
      const message = `${what}: the operation ended Failed: ${said}`;
      // Ended Failed because another operation took the resource (OperationPreempted, …): wait as a busy 409 does.
      const wait = busyCode(lro.code, lro.message) ? busyRetryMs() : undefined;
      const details: AzureFailureDetails = { azureCode: lro.code, ...(wait ? { retryAfterMs: wait } : {}) };
      return ApplicationFailure.create({
        type,
        message: type === ErrorType.Transient ? message : hint ? `${message} — ${hint}` : message,
        nonRetryable: type !== ErrorType.Transient,
        details: [details],
        cause,
        ...(wait ? { nextRetryDelay: wait } : {}),
      });
    }
    if (err.name === 'AbortError') return transient(`${what}: cancelled`, undefined, cause);
    if (err.name === 'CredentialUnavailableError') return fatal(ErrorType.NotConfigured, withHint, cause);
    if (err.name === 'AuthenticationError') return fatal(ErrorType.Unauthorized, withHint, cause);
    // A name DNS says does not exist never heals (contract/retry.ts); other failures without an HTTP status are a
    // reset, a timeout or a DNS hiccup: all worth another try.
    if (err.code === UNRESOLVABLE_HOST_CODE)
      return fatal(
        ErrorType.NotConfigured,
        `${what}: the host name does not resolve (${err.message})${hint ? ` — ${hint}` : ''}`,
        cause,
      );
    return transient(isTransientNetworkCode(err.code ?? '') ? `${what}: network ${err.code}` : text, undefined, cause);
  }
  if (status === 429) return transient(text, retryAfterMs(e), cause);
  // Busy (a 409, or a failed operation read from its Location URL with a busy code): Azure's Retry-After when it
  // sends one, else a jittered wait long enough for the other operation to end.
  if (status >= 400 && status < 500 && busyCode(err.code, err.message)) {
    return transient(text, retryAfterMs(e) ?? busyRetryMs(), cause);
  }
  if (status === 409 && busyVault(err)) {
    return transient(text, retryAfterMs(e) ?? busyRetryMs(Math.random, VAULT_RACE_RETRY_MS), cause);
  }
  // A failed operation polled through its Location URL comes back as an HTTP error whose code is the operation's
  // ("Track asynchronous Azure operations"): a code that says "try again" wins over a generic 4xx status.
  if (status >= 400 && status < 500 && err.code && LRO_TRANSIENT.test(err.code)) {
    return transient(text, retryAfterMs(e), cause);
  }
  if (status === 408 || status >= 500) return transient(text, retryAfterMs(e), cause);
  if (status === 401) return fatal(ErrorType.Unauthorized, withHint, cause);
  if (status === 403 && /propagation time/i.test(err.message ?? '')) {
    // Key Vault's ForbiddenByRbac right after a role assignment: Azure RBAC takes from seconds up to 10 minutes to
    // get there ("Troubleshoot Azure RBAC"). No fixed wait: the step policy's backoff looks again after 1 s, then
    // less often up to every 30 s, for more than those 10 minutes (workflows/step-policies.ts dataPlane).
    return transient(
      `${text} — a new role assignment may still be propagating (up to 10 minutes)`,
      retryAfterMs(e),
      cause,
    );
  }
  if (status === 403) return fatal(ErrorType.Forbidden, withHint, cause);
  if (status === 404) return fatal(ErrorType.NotFound, withHint, cause);
  if (status === 409) {
    // OperationNotAllowed without "in progress" (busy is handled above) is a refusal that stays: a limit, a quota.
    if (/^OperationNotAllowed$/i.test(err.code ?? '')) return fatal(ErrorType.PreconditionFailed, withHint, cause);
    return fatal(ErrorType.Conflict, withHint, cause);
  }
  if (status === 412) return fatal(ErrorType.PreconditionFailed, withHint, cause);
  // Other 4xx: Azure's code says which kind of refusal (a quota, a SKU, a bad parameter).
  const type = err.code ? lroFailureClass(err.code, err.message) : ErrorType.InvalidInput;
  return fatal(type === ErrorType.Transient ? ErrorType.InvalidInput : type, withHint, cause);
}

/** Runs one SDK call, classifying whatever it throws. */
export async function azureCall<T>(what: string, fn: () => Promise<T>, hint?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw azureFailure(e, what, hint);
  }
}
