/**
 * What the API does with Temporal: start a provisioning under its deterministic id, list (newest first, paged:
 * api/newest-first.ts), read progress (closed runs kept, concurrent reads shared: api/run-reader.ts), approve and
 * cancel. The routes stay thin; this is the one place that knows workflow ids, search attributes and statuses.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import type { ProvisionRequest } from '../domain/request.js';
import { scrub } from '../domain/scrub.js';
import { provisioningId } from '../domain/workflow-id.js';
import { ErrorType } from '../contract/errors.js';
import { signApproval } from '../temporal/approval-proof.js';
import {
  approveAdStepSignal,
  approveAdStepUpdate,
  PROVISION_WORKFLOW,
  progressQuery,
  provisionSummary,
  type Progress,
} from '../workflows/definitions.js';
import { domainUserKey, SEARCH_ATTRIBUTES } from '../temporal/search-attributes.js';
import type { TemporalSettings } from '../temporal/settings.js';
import {
  AlreadyRunning,
  ApprovalRefused,
  InvalidApproval,
  NotFound,
  NotRunning,
  ServiceUnavailable,
} from './errors.js';
import { newestFirst } from './newest-first.js';
import { READ_AGES, RunReader } from './run-reader.js';
import { SharedReads, type ReadAges } from '../domain/shared-reads.js';
import { apiStatus, failureMessage, readRun, runLinks, VISIBILITY_STATUS } from './run-views.js';
import type { ListStatus, ProvisioningList, ProvisioningView } from './schemas.js';
import { WORKFLOW_TASK_TIMEOUT } from '../temporal/run-options.js';

export interface ProvisioningServiceOptions {
  /** The key approvals are signed with (GMSA_APPROVAL_KEY); without it the API cannot approve. */
  approvalKey?: Buffer;
  /** How long an approval may take to be checked by the run's worker before the API answers 503. */
  approvalTimeoutMs?: number;
  /** How old a view or list page may be when answered (domain/shared-reads.ts); api/run-reader.ts's by default. */
  readAges?: ReadAges;
}

/** What the SDK's workflow answers an update it has no handler for: a run started before the update existed. */
const NO_UPDATE_HANDLER = `No registered handler for update: ${approveAdStepUpdate.name}`;

/** How the approval reached the run: the signed update, or the signal of runs started before it. */
export type ApprovedBy = 'update' | 'signal';

export class ProvisioningService {
  private readonly reads: RunReader<ProvisioningView>;
  private readonly pages: SharedReads<string, ProvisioningList>;

  constructor(
    private readonly client: Client,
    private readonly settings: TemporalSettings,
    private readonly options: ProvisioningServiceOptions = {},
  ) {
    const ages = options.readAges ?? READ_AGES;
    this.reads = new RunReader(
      (id) => this.describe(id),
      (id, d) => this.view(id, d),
      // Ages given are for every view, closed ones too (tests read back what they changed outside the API).
      { ages, closedAges: options.readAges },
    );
    this.pages = new SharedReads(ages);
  }

  links(id: string) {
    return runLinks(this.settings, `/v1/provisionings/${id}`, id);
  }

  async start(request: ProvisionRequest): Promise<{ id: string; runId: string }> {
    const id = provisioningId(request);
    try {
      const handle = await this.client.workflow.start(PROVISION_WORKFLOW, {
        workflowId: id,
        taskQueue: this.settings.taskQueue,
        args: [request],
        // A finished provisioning may run again (a rerun converges); a running one may not start twice.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        staticSummary: provisionSummary(request),
        workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.cluster, value: request.cluster.name.toLowerCase() },
          { key: SEARCH_ATTRIBUTES.spec, value: request.gmsa.credentialSpecName },
          { key: SEARCH_ATTRIBUTES.domainUser, value: domainUserKey(request.domain.fqdn, request.gmsa.standardUser) },
        ],
      });
      // A rerun of a finished id: its next read is of the new run, and the lists show it.
      this.reads.forget(id);
      this.pages.forget();
      return { id, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new AlreadyRunning(id);
      throw err;
    }
  }

  /** A page of runs, newest first by start time; `pageToken` is the previous page's `nextPageToken`. */
  async list(filter: {
    status?: ListStatus;
    cluster?: string;
    limit: number;
    pageToken?: string;
  }): Promise<ProvisioningList> {
    return this.pages.read(JSON.stringify(filter), () => this.readPage(filter));
  }

  private async readPage(filter: Parameters<ProvisioningService['list']>[0]): Promise<ProvisioningList> {
    const clauses = [`WorkflowType = '${PROVISION_WORKFLOW}'`];
    // The route's schema allows only name characters here, so quoting is safe.
    if (filter.cluster) clauses.push(`${SEARCH_ATTRIBUTES.cluster.name} = '${filter.cluster.toLowerCase()}'`);
    const { runs, nextPageToken } = await newestFirst(this.client, {
      clauses,
      status: filter.status && VISIBILITY_STATUS[filter.status],
      limit: filter.limit,
      pageToken: filter.pageToken,
    });
    const items = runs.map((w) => ({
      id: w.workflowId,
      runId: w.runId,
      status: apiStatus(w.status.name),
      startedAt: w.startTime.toISOString(),
      closedAt: w.closeTime?.toISOString(),
      cluster: w.typedSearchAttributes.get(SEARCH_ATTRIBUTES.cluster),
      credentialSpecName: w.typedSearchAttributes.get(SEARCH_ATTRIBUTES.spec),
      links: this.links(w.workflowId),
    }));
    return nextPageToken ? { items, nextPageToken } : { items };
  }

  get(id: string): Promise<ProvisioningView> {
    return this.reads.read(id);
  }

  private async view(id: string, description: WorkflowExecutionDescription) {
    const { progress, error, common, complete } = await readRun(this.client, id, description, () => this.progress(id));
    const view: ProvisioningView = {
      id,
      ...common,
      approval: progress?.approval,
      rollback: progress?.rollback,
      outputs: progress?.outputs,
      error,
      links: this.links(id),
    };
    return { view, complete };
  }

  /**
   * Signs the approval and sends it as the update, which the run checks (verifyApproval) before it counts. A run
   * started before the update existed has no handler for it and gets the signal it waits for instead.
   */
  async approve(id: string, by: string, comment?: string): Promise<ApprovedBy> {
    const key = this.options.approvalKey;
    if (!key) {
      throw new ServiceUnavailable(
        "the API has no approval key (GMSA_APPROVAL_KEY or GMSA_APPROVAL_KEY_FILE, the same as the worker's): " +
          'it cannot sign an approval',
      );
    }
    await this.requireRunning(id);
    const handle = this.client.workflow.getHandle(id);
    const timeoutMs = this.options.approvalTimeoutMs ?? 20_000;
    try {
      await this.client.connection.withDeadline(Date.now() + timeoutMs, () =>
        handle.executeUpdate(approveAdStepUpdate, { args: [signApproval(key, id, { by, comment })] }),
      );
      this.reads.forget(id);
      return 'update';
    } catch (err) {
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.message === NO_UPDATE_HANDLER) {
        await handle.signal(approveAdStepSignal, { by, comment });
        this.reads.forget(id);
        return 'signal';
      }
      if (cause instanceof ApplicationFailure && cause.type === ErrorType.Forbidden)
        throw new ApprovalRefused(`the run refused the approval: ${scrub(cause.message)}`);
      if (cause instanceof ActivityFailure) {
        throw new ServiceUnavailable(
          `the run's worker could not check the approval: ${failureMessage(cause)}; approve again`,
        );
      }
      if (cause) throw new InvalidApproval(`the run refused the approval: ${failureMessage(cause)}`);
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        throw new ServiceUnavailable(
          `the run did not take the approval within ${timeoutMs / 1000} s: is a worker polling task queue ` +
            `${this.settings.taskQueue}? Approve again once it is`,
        );
      }
      // It ended between the check above and the update.
      if (err instanceof WorkflowNotFoundError) await this.requireRunning(id);
      throw err;
    }
  }

  async cancel(id: string): Promise<void> {
    await this.requireRunning(id);
    await this.client.workflow.getHandle(id).cancel();
    this.reads.forget(id);
  }

  /** Readiness: the namespace answers. */
  async ping(): Promise<void> {
    await this.client.connection.withDeadline(Date.now() + 2000, () =>
      this.client.workflowService.describeNamespace({ namespace: this.settings.namespace }),
    );
  }

  private async progress(id: string): Promise<Progress> {
    // A closed run is answered by replay on a worker; do not let a missing worker hang the request.
    return this.client.connection.withDeadline(Date.now() + 5000, () =>
      this.client.workflow.getHandle(id).query(progressQuery),
    );
  }

  private async describe(id: string): Promise<WorkflowExecutionDescription> {
    try {
      const d = await this.client.workflow.getHandle(id).describe();
      if (d.type !== PROVISION_WORKFLOW) throw new NotFound(id);
      return d;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new NotFound(id);
      throw err;
    }
  }

  private async requireRunning(id: string): Promise<void> {
    const d = await this.describe(id);
    if (d.status.name !== 'RUNNING')
      throw new NotRunning(`provisioning ${id} is ${apiStatus(d.status.name)}, not running`);
  }
}
