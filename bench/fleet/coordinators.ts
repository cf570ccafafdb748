/**
 * What the scale-set coordinators did while a fleet ran (from their histories): every binding of a cluster waits
 * on its coordinator's PATCH in attachIdentity, which is no activity of theirs, so a stalled coordinator shows in
 * the bindings' histories only as time between steps. A coordinator run can serve several fleets (it ends only
 * after IDLE_MS idle), so only its events inside the fleet's window count.
 */
import type { Client } from '@temporalio/client';
import { SCALE_SET_WORKFLOW } from '../../contract/coordination.js';
import { ms, TIMEOUT_SCHEDULE_TO_START } from './history.js';

export interface CoordinatorFigures {
  runs: number;
  /** Each PATCH (applyScaleSetChanges) scheduled in the window: scheduled → closed, and its attempts. */
  patches: Array<{ ms: number; attempts: number }>;
  /** Workflow tasks that timed out on a dead worker: started (workflow task timeout), queued (sticky). */
  workflowTaskTimeouts: { started: number; queued: number };
  /** First change received → last outcome sent, over the window. */
  spanMs: number;
}

export async function coordinatorFigures(client: Client, fromMs: number, toMs: number): Promise<CoordinatorFigures> {
  const out: CoordinatorFigures = {
    runs: 0,
    patches: [],
    workflowTaskTimeouts: { started: 0, queued: 0 },
    spanMs: 0,
  };
  let first: number | undefined;
  let last: number | undefined;
  for await (const run of client.workflow.list({ query: `WorkflowType = '${SCALE_SET_WORKFLOW}'` })) {
    const events = (await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? [];
    const byId = new Map(events.map((e) => [Number(e.eventId), e]));
    const inWindow = events.filter((e) => ms(e.eventTime) >= fromMs && ms(e.eventTime) <= toMs);
    if (inWindow.length) out.runs += 1;
    for (const e of inWindow) {
      const at = ms(e.eventTime);
      if (e.workflowExecutionSignaledEventAttributes) first ??= at;
      if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) last = at;
      const timedOut = e.workflowTaskTimedOutEventAttributes;
      if (timedOut) {
        if (Number(timedOut.timeoutType) === TIMEOUT_SCHEDULE_TO_START) out.workflowTaskTimeouts.queued += 1;
        else out.workflowTaskTimeouts.started += 1;
      }
      const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
      if (closed) {
        const scheduled = byId.get(Number(closed.scheduledEventId));
        const attempt = byId.get(Number(closed.startedEventId))?.activityTaskStartedEventAttributes?.attempt ?? 1;
        out.patches.push({ ms: at - ms(scheduled?.eventTime), attempts: attempt });
      }
    }
  }
  if (first !== undefined && last !== undefined) out.spanMs = last - first;
  return out;
}
