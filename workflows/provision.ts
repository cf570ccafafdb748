/**
 * provisionGmsa: the steps of DESIGN "The provisioning workflow" (workflows/steps.ts), run by the step runner with
 * the server's retries, ownership on every write and rollback, and the durable KDS wait in the middle. The AD
 * approval is an update whose proof the API signed; the workflow has the worker check it (verifyApproval).
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { ApprovalActivities, SignedApproval } from '../contract/activities.js';
import { ErrorType } from '../contract/errors.js';
import {
  approveAdStepSignal,
  approveAdStepUpdate,
  PROGRESS_MEMO,
  progressQuery,
  type ProvisionInput,
  type ProvisionOutputs,
} from './definitions.js';
import { provisionGmsaV1 } from './legacy/provision-v1.js';
import { provisionGmsaV2 } from './legacy/provision-v2.js';
import { ProgressTracker } from './progress.js';
import { ScaleSetRequests } from './scale-set-requests.js';
import { activityOptions, reporter, runGraph } from './runner.js';
import { quick } from './step-policies.js';
import { provisionOutputs, provisionSteps } from './steps.js';

export { APPROVAL_WAIT_TIMERS } from './steps.js';

/**
 * Patch ids, oldest first. `step-graph-server-retries`: the step graph with the server's retries (before it:
 * legacy/provision-v1.ts). `shared-world-ownership`: owner markers, rollback by ownership, findDomainUser, the
 * signed approval update and the KDS wait that an approval cannot shorten (before it: legacy/provision-v2.ts).
 * `fleet-coordination`: the attachIdentity step (before it, in the same graph, grantKeyVaultAccess attaches).
 * `day-two-schedules`: the scheduleOperations step (before it, skipped). `final-progress-memo`,
 * `phase-search-attribute` and `approval-wait-timers` (steps.ts): what the Temporal UI and a cheap read see.
 */
export const STEP_GRAPH_SERVER_RETRIES = 'step-graph-server-retries';
export const SHARED_WORLD_OWNERSHIP = 'shared-world-ownership';
/** `fleet-coordination`: the identity goes onto the scale sets through their coordinators (attachIdentity). */
export const FLEET_COORDINATION = 'fleet-coordination';
/** `day-two-schedules`: the last step makes the binding's repair and rotation Schedules (scheduleOperations). */
export const DAY_TWO_SCHEDULES = 'day-two-schedules';
/** `final-progress-memo`: the run ends by keeping its final progress in the memo (PROGRESS_MEMO); operations too. */
export const FINAL_PROGRESS_MEMO = 'final-progress-memo';
/** `phase-search-attribute`: the GmsaPhase search attribute follows the phase (runner.ts reporter); operations too. */
export const PHASE_SEARCH_ATTRIBUTE = 'phase-search-attribute';

/** The approver's comment is free text: the summary line keeps one line of it, this long at most. */
const COMMENT_IN_SUMMARY = 120;

/** The approval's check, its summary line naming the approver and their comment (Timeline, Event History). */
const verifyApproval = (approval: SignedApproval) =>
  proxyActivities<ApprovalActivities>({
    ...activityOptions({ ...quick, maxAttempts: 3 }),
    summary: approvalSummary(approval),
  }).verifyApproval({ workflowId: workflowInfo().workflowId, approval });

export function approvalSummary(a: Pick<SignedApproval, 'by' | 'comment'>): string {
  const comment = a.comment?.replace(/\s+/g, ' ').trim();
  const clipped =
    comment && comment.length > COMMENT_IN_SUMMARY ? `${comment.slice(0, COMMENT_IN_SUMMARY - 1)}…` : comment;
  return `check the approval by ${a.by}${clipped ? `: ${clipped}` : ''}`;
}

export async function provisionGmsa(request: ProvisionInput): Promise<ProvisionOutputs> {
  if (!patched(STEP_GRAPH_SERVER_RETRIES)) return provisionGmsaV1(request);
  if (!patched(SHARED_WORLD_OWNERSHIP)) return provisionGmsaV2(request);
  const scaleSets = patched(FLEET_COORDINATION) ? new ScaleSetRequests() : undefined;
  const schedules = patched(DAY_TWO_SCHEDULES);
  const progress = new ProgressTracker();
  const report = reporter(progress as ProgressTracker<string, unknown>, patched(PHASE_SEARCH_ATTRIBUTE));
  setHandler(progressQuery, () => progress.snapshot());
  setHandler(
    approveAdStepUpdate,
    async (approval) => {
      const check = await verifyApproval(approval);
      if (!check.valid) {
        throw ApplicationFailure.nonRetryable(`approval refused: ${check.reason ?? 'bad proof'}`, ErrorType.Forbidden);
      }
      progress.approval ??= { by: approval.by, comment: approval.comment, at: new Date().toISOString() };
      report();
      return progress.approval;
    },
    { validator: checkShape },
  );
  // A bare signal proves nothing about who sent it: it is logged and changes nothing.
  setHandler(approveAdStepSignal, (args) => {
    log.warn('refused an approval sent as a bare signal; approve through the API', { claimedBy: args?.by });
  });
  try {
    const results = await runGraph(provisionSteps, request, {
      progress,
      context: { approval: () => progress.approval, scaleSets, schedules },
      rollback: request.options.rollbackOnFailure,
      ownership: true,
      report,
    });
    progress.outputs = provisionOutputs(results);
    progress.finish('completed');
    report();
    return progress.outputs;
  } finally {
    try {
      // An approval being checked when the run ends finishes first, so its caller gets an answer.
      await condition(allHandlersFinished);
    } finally {
      keepFinalProgress(progress);
    }
  }
}

/**
 * Completed, failed or cancelled (after its rollback): the run keeps the `progress` query's last answer in its memo,
 * so a read of a finished run is a describe(), not a replay.
 */
export function keepFinalProgress(progress: { snapshot(): unknown }): void {
  if (patched(FINAL_PROGRESS_MEMO)) upsertMemo({ [PROGRESS_MEMO]: progress.snapshot() });
}

/** The update's validator: refuses before anything is recorded what cannot be an approval the API signed. */
function checkShape(a: SignedApproval): void {
  const text = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 1024;
  if (
    !a ||
    !text(a.by) ||
    !text(a.at) ||
    !text(a.proof) ||
    (a.comment !== undefined && typeof a.comment !== 'string')
  ) {
    throw new Error('an approval carries by, at and the proof the API signs; approve with POST …/approve');
  }
}
