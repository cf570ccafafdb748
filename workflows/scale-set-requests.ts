/**
 * The binding's side of scale-set coordination: queue a change at each pool's coordinator (an activity doing
 * signal-with-start) and wait, durably, for the outcomes the coordinators signal back. Request ids carry the run id,
 * so a later run of the same provisioning id is never taken for a duplicate of an earlier one.
 */
import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Owner } from '../contract/activities.js';
import type { CoordinationActivities, ScaleSetChangeOutcome, ScaleSetTarget } from '../contract/coordination.js';
import { scaleSetOutcomeSignal } from './definitions.js';
import { activityOptions } from './runner.js';
import { quick } from './step-policies.js';

const { queueScaleSetChange } = proxyActivities<CoordinationActivities>({
  ...activityOptions(quick, true),
  summary: "queue at the scale set's coordinator",
});

export class ScaleSetRequests {
  private readonly outcomes = new Map<string, ScaleSetChangeOutcome>();
  private seq = 0;

  constructor() {
    setHandler(scaleSetOutcomeSignal, (o) => void this.outcomes.set(o.requestId, o));
  }

  /**
   * Attaches or detaches `identityId` on the scale set of every target; resolves with one outcome per target once
   * all coordinators answered. `onQueued` is told when every change is queued (to show the wait).
   */
  async change(
    targets: ScaleSetTarget[],
    op: 'attach' | 'detach',
    identityId: string,
    owner: Owner,
    onQueued?: () => void,
  ): Promise<ScaleSetChangeOutcome[]> {
    const { workflowId, runId } = workflowInfo();
    const queued = targets.map((target) => ({
      target,
      change: { requestId: `${runId}/${(this.seq += 1)}/${target.pool}`, replyTo: workflowId, op, identityId, owner },
    }));
    await Promise.all(queued.map((q) => queueScaleSetChange(q)));
    onQueued?.();
    // No timeout: a coordinator answers every change it took, failures included (its write's retries are bounded).
    await condition(() => queued.every((q) => this.outcomes.has(q.change.requestId)));
    return queued.map((q) => this.outcomes.get(q.change.requestId)!);
  }
}
