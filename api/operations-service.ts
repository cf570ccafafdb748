/**
 * What the API does with Temporal for a binding's day-2 operations (DESIGN "Day 2"): start one under its
 * deterministic id, read and list them like provisionings, and answer the inspections (access, sample workload)
 * by running their short workflow on the worker, which holds the credentials the API does not.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { ErrorType } from '../contract/errors.js';
import {
  INSPECTION_WORKFLOWS,
  inspectionId,
  OPERATION_KINDS,
  OPERATION_WORKFLOWS,
  operationId,
  parseOperationId,
  type OperationKind,
  type SampleWorkloadResult,
} from '../contract/operations.js';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.js';
import type { TemporalSettings } from '../temporal/settings.js';
import { operationProgressQuery, PROVISION_WORKFLOW } from '../workflows/definitions.js';
import {
  InvalidRequest,
  NotFound,
  NotRunning,
  OperationRunning,
  ProvisioningRunning,
  ServiceUnavailable,
  UpstreamFailed,
} from './errors.js';
import { newestFirst } from './newest-first.js';
import { READ_AGES, RunReader } from './run-reader.js';
import { SharedReads, type ReadAges } from '../domain/shared-reads.js';
import { apiStatus, readRun, failureMessage, failureType, runLinks, VISIBILITY_STATUS } from './run-views.js';
import type { ListStatus, OperationList, OperationView } from './schemas.js';
import { WORKFLOW_TASK_TIMEOUT } from '../temporal/run-options.js';

export type InspectionKind = keyof typeof INSPECTION_WORKFLOWS;

export interface OperationsServiceOptions {
  /** How long a GET of an inspection waits for its workflow's answer before 503 (default 60 s). */
  inspectionTimeoutMs?: number;
  /** How old a view or list page may be when answered (domain/shared-reads.ts); api/run-reader.ts's by default. */
  readAges?: ReadAges;
}

/** What a POST's body adds to the operation's input (contract/operations.ts), validated by the route. */
export type OperationBody = Record<string, unknown>;

/** A closed inspection run is gone from the API's concerns; one no worker took must not linger for ever. */
const INSPECTION_RUN_TIMEOUT = '10 minutes';

/** What workflows/runner.ts fails a run with when a step fails: the step's own type is in its progress. */
const STEP_FAILED = 'StepFailed';

/** grpc.status.DEADLINE_EXCEEDED: what a call under `withDeadline` fails with when the deadline passes. */
const DEADLINE_EXCEEDED = 4;
const deadlineExceeded = (err: unknown): boolean => {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code === DEADLINE_EXCEEDED) return true;
  return false;
};

export class OperationsService {
  /** Reads of an operation's view (api/run-reader.ts): closed runs kept, concurrent reads shared. */
  private readonly reads: RunReader<OperationView>;
  private readonly pages: SharedReads<string, OperationList>;

  constructor(
    private readonly client: Client,
    private readonly settings: TemporalSettings,
    private readonly options: OperationsServiceOptions = {},
  ) {
    const ages = options.readAges ?? READ_AGES;
    this.reads = new RunReader(
      (id) => this.describeOperation(id),
      (id, d) => this.view(id, d),
      // Ages given are for every view, closed ones too (tests read back what they changed outside the API).
      { ages, closedAges: options.readAges },
    );
    this.pages = new SharedReads(ages);
  }

  links(id: string, bindingId: string) {
    return { ...runLinks(this.settings, `/v1/operations/${id}`, id), binding: `/v1/provisionings/${bindingId}` };
  }

  /**
   * Starts `kind` for the binding: 404 when there is no such provisioning, 409 while it still runs or while the
   * same operation runs (its id is `<binding>.<kind>`; a finished one may run again).
   */
  async start(bindingId: string, kind: OperationKind, body: OperationBody): Promise<{ id: string; runId: string }> {
    const binding = await this.describeBinding(bindingId);
    if (binding.status.name === 'RUNNING') throw new ProvisioningRunning(bindingId);
    const id = operationId(bindingId, kind);
    try {
      const handle = await this.client.workflow.start(OPERATION_WORKFLOWS[kind], {
        workflowId: id,
        taskQueue: this.settings.taskQueue,
        // The route allows only the operation's own fields, so the binding cannot be overridden by the body.
        args: [{ ...body, bindingId }],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        staticSummary: `${kind} of ${bindingId}`,
        workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
        typedSearchAttributes: bindingAttributes(bindingId, binding.typedSearchAttributes),
      });
      this.reads.forget(id);
      this.pages.forget();
      return { id, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new OperationRunning(id);
      throw err;
    }
  }

  async get(id: string): Promise<OperationView> {
    if (!parseOperationId(id)) throw new NotFound(id, 'operation');
    return this.reads.read(id);
  }

  private async view(id: string, description: WorkflowExecutionDescription) {
    const parsed = parseOperationId(id)!;
    const { progress, error, common, complete } = await readRun(this.client, id, description, () =>
      this.client.connection.withDeadline(Date.now() + 5000, () =>
        this.client.workflow.getHandle(id).query(operationProgressQuery),
      ),
    );
    const outputs = progress?.outputs;
    const view: OperationView = {
      id,
      kind: parsed.kind,
      bindingId: parsed.bindingId,
      scheduled: parsed.scheduled,
      ...common,
      ...(outputs && typeof outputs === 'object' && !Array.isArray(outputs)
        ? { outputs: outputs as Record<string, unknown> }
        : {}),
      error,
      links: this.links(id, parsed.bindingId),
    };
    return { view, complete };
  }

  /** Operations newest first, scheduled runs included, by binding, kind and status; paged as provisionings are. */
  async list(filter: {
    binding?: string;
    kind?: OperationKind;
    status?: ListStatus;
    limit: number;
    pageToken?: string;
  }): Promise<OperationList> {
    return this.pages.read(JSON.stringify(filter), () => this.readPage(filter));
  }

  private async readPage(filter: Parameters<OperationsService['list']>[0]): Promise<OperationList> {
    const types = (filter.kind ? [filter.kind] : OPERATION_KINDS).map(
      (k) => `WorkflowType = '${OPERATION_WORKFLOWS[k]}'`,
    );
    const clauses = [`(${types.join(' OR ')})`];
    // The route's schema allows only provisioning ids here (no quote, no dot), so quoting is safe. A run its
    // Schedule started is found by its id too, should the Schedule not set the attribute.
    if (filter.binding) {
      clauses.push(
        `(${SEARCH_ATTRIBUTES.binding.name} = '${filter.binding}' OR WorkflowId STARTS_WITH '${filter.binding}.')`,
      );
    }
    const { runs, nextPageToken } = await newestFirst(this.client, {
      clauses,
      status: filter.status && VISIBILITY_STATUS[filter.status],
      limit: filter.limit,
      pageToken: filter.pageToken,
      // A run of an operation's type under an id that is not an operation's was not started by this product.
      keep: (w) => parseOperationId(w.workflowId) !== undefined,
    });
    const items = runs.map((w) => {
      const parsed = parseOperationId(w.workflowId)!;
      return {
        id: w.workflowId,
        runId: w.runId,
        kind: parsed.kind,
        bindingId: parsed.bindingId,
        scheduled: parsed.scheduled,
        status: apiStatus(w.status.name),
        startedAt: w.startTime.toISOString(),
        closedAt: w.closeTime?.toISOString(),
        links: this.links(w.workflowId, parsed.bindingId),
      };
    });
    return nextPageToken ? { items, nextPageToken } : { items };
  }

  /** The access report: what the access workflow answers, as it is. */
  async access(bindingId: string): Promise<Record<string, unknown>> {
    return (await this.inspect(bindingId, 'access')) as Record<string, unknown>;
  }

  async sampleWorkload(bindingId: string): Promise<SampleWorkloadResult> {
    return (await this.inspect(bindingId, 'sampleWorkload')) as SampleWorkloadResult;
  }

  /**
   * Runs the inspection's workflow for the binding and waits for its answer. Concurrent reads share one run (USE
   * EXISTING), a finished one is run again; without a worker to answer, 503 after the deadline, naming the queue.
   */
  private async inspect(bindingId: string, kind: InspectionKind): Promise<unknown> {
    const binding = await this.describeBinding(bindingId);
    const handle = await this.client.workflow.start(INSPECTION_WORKFLOWS[kind], {
      workflowId: inspectionId(bindingId, kind),
      taskQueue: this.settings.taskQueue,
      args: [{ bindingId }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowExecutionTimeout: INSPECTION_RUN_TIMEOUT,
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
      staticSummary: `${kind} of ${bindingId}`,
      typedSearchAttributes: bindingAttributes(bindingId, binding.typedSearchAttributes),
    });
    const timeoutMs = this.options.inspectionTimeoutMs ?? 60_000;
    try {
      return await this.client.connection.withDeadline(Date.now() + timeoutMs, () => handle.result());
    } catch (err) {
      if (deadlineExceeded(err)) {
        throw new ServiceUnavailable(
          `no answer within ${timeoutMs / 1000} s: is a worker polling task queue ${this.settings.taskQueue}? ` +
            'Ask again once it is',
        );
      }
      if (!(err instanceof WorkflowFailedError)) throw err;
      const message = failureMessage(err);
      switch (await this.failedStepType(handle.workflowId, err)) {
        case ErrorType.NotFound:
          throw new NotFound(bindingId);
        case ErrorType.PreconditionFailed:
        case ErrorType.Conflict:
          throw new NotRunning(message);
        case ErrorType.InvalidInput:
          throw new InvalidRequest(message, []);
        default:
          throw new UpstreamFailed(`the ${kind === 'access' ? 'access' : 'sample workload'} check failed: ${message}`);
      }
    }
  }

  /**
   * Why a run failed, as a type: the failure's own, or for a step graph's `StepFailed` (which carries only the
   * message) the type its failed step recorded in progress.
   */
  private async failedStepType(id: string, err: unknown): Promise<string | undefined> {
    const type = failureType(err);
    if (type !== STEP_FAILED) return type;
    const progress = await this.client.connection
      .withDeadline(Date.now() + 5000, () => this.client.workflow.getHandle(id).query(operationProgressQuery))
      .catch(() => undefined);
    return progress?.steps.find((s) => s.status === 'failed')?.lastError?.type ?? type;
  }

  /** The binding's latest provisioning run; 404 when there is none, or the id names a workflow of another type. */
  private async describeBinding(id: string): Promise<WorkflowExecutionDescription> {
    const d = await this.describe(id, () => new NotFound(id));
    if (d.type !== PROVISION_WORKFLOW) throw new NotFound(id);
    return d;
  }

  private async describeOperation(id: string): Promise<WorkflowExecutionDescription> {
    const parsed = parseOperationId(id);
    if (!parsed) throw new NotFound(id, 'operation');
    const d = await this.describe(id, () => new NotFound(id, 'operation'));
    if (d.type !== OPERATION_WORKFLOWS[parsed.kind]) throw new NotFound(id, 'operation');
    return d;
  }

  private async describe(id: string, notFound: () => NotFound): Promise<WorkflowExecutionDescription> {
    try {
      return await this.client.workflow.getHandle(id).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound();
      throw err;
    }
  }
}

/** The binding's attribute, and the cluster and spec of its provisioning (for the Temporal UI's filters). */
function bindingAttributes(bindingId: string, binding: TypedSearchAttributes) {
  const cluster = binding.get(SEARCH_ATTRIBUTES.cluster);
  const spec = binding.get(SEARCH_ATTRIBUTES.spec);
  return [
    { key: SEARCH_ATTRIBUTES.binding, value: bindingId },
    ...(cluster !== undefined ? [{ key: SEARCH_ATTRIBUTES.cluster, value: cluster }] : []),
    ...(spec !== undefined ? [{ key: SEARCH_ATTRIBUTES.spec, value: spec }] : []),
  ];
}
