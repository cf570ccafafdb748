/**
 * The API's typed errors. The service, the routes and the auth hooks throw these; the app's one error handler
 * (api/app.ts) turns each into its problem answer, so no route maps errors of its own.
 */
import type { FieldError } from '../domain/field-errors.js';

/** An error that is an answer: its status, its detail, and any extra problem members or headers. */
export abstract class ApiProblem extends Error {
  abstract readonly status: number;
  readonly errors?: FieldError[];
  readonly runningId?: string;
  readonly headers: Record<string, string> = {};
}

export class NotFound extends ApiProblem {
  readonly status = 404;
  constructor(
    readonly id: string,
    what = 'provisioning',
  ) {
    super(`no ${what} ${id}`);
  }
}

export class AlreadyRunning extends ApiProblem {
  readonly status = 409;
  constructor(override readonly runningId: string) {
    super(`a provisioning for this cluster and credential spec is already running: ${runningId}`);
  }
}

/** A day-2 operation of this kind already runs for the binding: one at a time (its id is deterministic). */
export class OperationRunning extends ApiProblem {
  readonly status = 409;
  constructor(override readonly runningId: string) {
    super(`this operation is already running for the binding: ${runningId}; wait for it to end or cancel it`);
  }
}

/** The binding's provisioning still runs: an operation acts on what it produced, once it ended. */
export class ProvisioningRunning extends ApiProblem {
  readonly status = 409;
  constructor(override readonly runningId: string) {
    super(`provisioning ${runningId} is still running: wait for it to end (or cancel it) before an operation`);
  }
}

export class NotRunning extends ApiProblem {
  readonly status = 409;
}

/** A request that failed validation, with every offending field. */
export class InvalidRequest extends ApiProblem {
  readonly status = 400;
  constructor(
    message: string,
    override readonly errors: FieldError[],
  ) {
    super(message);
  }
}

export class Unauthorized extends ApiProblem {
  readonly status = 401;
  override readonly headers = { 'www-authenticate': 'Bearer realm="aks-gmsa"' };
}

export class Forbidden extends ApiProblem {
  readonly status = 403;
}

export class TooManyRequests extends ApiProblem {
  readonly status = 429;
  override readonly headers: Record<string, string>;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.headers = { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) };
  }
}

/** The run refused the approval: its proof did not hold for this run (signed by another key, too old). */
export class ApprovalRefused extends ApiProblem {
  readonly status = 409;
}

/** The run's validator refused the approval's shape before recording anything. */
export class InvalidApproval extends ApiProblem {
  readonly status = 400;
}

/** What the API needs for this is missing or does not answer: its configuration, a worker. */
export class ServiceUnavailable extends ApiProblem {
  readonly status = 503;
}

/** What the worker asked of an outside system failed (an inspection's read of Azure or the cluster). */
export class UpstreamFailed extends ApiProblem {
  readonly status = 502;
}
