/**
 * What provisionings and operations share on the wire: Temporal's statuses as the API spells them, the list
 * filter's visibility names, a run's links, and a failure's own words.
 */
import type { Client, WorkflowExecutionDescription, WorkflowExecutionStatusName } from '@temporalio/client';
import { scrub } from '../domain/scrub.js';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.js';
import type { TemporalSettings } from '../temporal/settings.js';
import { PROGRESS_MEMO } from '../workflows/definitions.js';
import { withPendingActivities } from './pending-activity.js';
import type { ListStatus, WorkflowStatus } from './schemas.js';

/** The SDK's status names as the API spells them: CANCELLED is CANCELED (DESIGN). A new SDK status fails to compile. */
const API_STATUS: Record<WorkflowExecutionStatusName, WorkflowStatus> = {
  UNSPECIFIED: 'UNSPECIFIED',
  RUNNING: 'RUNNING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELED',
  TERMINATED: 'TERMINATED',
  CONTINUED_AS_NEW: 'CONTINUED_AS_NEW',
  TIMED_OUT: 'TIMED_OUT',
  PAUSED: 'PAUSED',
  UNKNOWN: 'UNKNOWN',
};
export const apiStatus = (sdk: WorkflowExecutionStatusName): WorkflowStatus => API_STATUS[sdk];

/** Visibility's names for the list filters. */
export const VISIBILITY_STATUS: Record<ListStatus, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELED: 'Canceled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
};

/** A run's API path and its page in the Temporal UI. */
export function runLinks(settings: TemporalSettings, self: string, workflowId: string) {
  const ui = `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return { self, temporalUi: ui };
}

/** The phase of a run whose progress query did not answer (no worker to replay it): from its status. */
export const phaseOf = (status: WorkflowStatus): string => (status === 'RUNNING' ? 'starting' : status.toLowerCase());

/** Statuses whose run ended with an error the result carries. */
export const failedStatus = (status: WorkflowStatus): boolean =>
  status === 'FAILED' || status === 'TIMED_OUT' || status === 'TERMINATED';

/** The innermost message of a workflow failure: the step's own words. */
export function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  while (e?.cause) {
    e = e.cause as { message?: string; cause?: unknown };
    if (e.message) message = e.message;
  }
  return scrub(message);
}

/** The innermost failure's type (an ApplicationFailure's), e.g. NotFound or PreconditionFailed. */
export function failureType(err: unknown): string | undefined {
  let e = err as { type?: string; cause?: unknown } | undefined;
  let type: string | undefined;
  while (e) {
    if (typeof e.type === 'string') type = e.type;
    e = e.cause as { type?: string; cause?: unknown } | undefined;
  }
  return type;
}

/**
 * What a provisioning's and an operation's view read alike: describe (already done by the caller, which knows the
 * workflow type), then the run's progress: for a closed run, the final progress the workflow left in its memo
 * (no worker replays anything); else, and for runs that ended before the memo existed, the `progress` query (after
 * describe, so a step the query reports as done is not mistaken for its stale pending activity). For a failed run
 * without a recorded error, its failure's own words. `complete`: the progress was read, not guessed from the status.
 */
type RunStep = Parameters<typeof withPendingActivities>[0][number];

export async function readRun<P extends { steps?: RunStep[]; error?: string; phase?: string }>(
  client: Client,
  id: string,
  description: WorkflowExecutionDescription,
  query: () => Promise<P>,
) {
  const status = apiStatus(description.status.name);
  const final = status === 'RUNNING' ? undefined : (description.memo?.[PROGRESS_MEMO] as P | undefined);
  const progress = final ?? (await query().catch(() => undefined));
  const steps = withPendingActivities(progress?.steps ?? [], description.raw.pendingActivities ?? []) as NonNullable<
    P['steps']
  >;
  let error = progress?.error;
  if (!error && failedStatus(status)) {
    error = await client.workflow
      .getHandle(id)
      .result()
      .then(
        () => undefined,
        (e: unknown) => failureMessage(e),
      );
  }
  return {
    progress,
    error,
    complete: progress !== undefined,
    common: {
      runId: description.runId,
      status,
      phase: progress?.phase ?? phaseOf(status),
      startedAt: description.startTime.toISOString(),
      closedAt: description.closeTime?.toISOString(),
      cluster: description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.cluster),
      credentialSpecName: description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.spec),
      steps,
    },
  };
}
