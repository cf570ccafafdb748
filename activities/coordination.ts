/**
 * Queues a binding's scale-set change at that scale set's coordinator (contract/coordination.ts): signal-with-start,
 * so the first change starts the coordinator and every later one joins its queue, with no read-then-start race. It
 * uses the worker's own client (same namespace, same payload codec) and task queue. A retried attempt delivers the
 * same change again; the coordinator drops it by requestId.
 */
import { Context } from '@temporalio/activity';
import {
  SCALE_SET_CHANGE_SIGNAL,
  SCALE_SET_WORKFLOW,
  scaleSetCoordinatorId,
  type CoordinationActivities,
  type QueueScaleSetChangeInput,
} from '../contract/coordination.js';
import { WORKFLOW_TASK_TIMEOUT } from '../temporal/run-options.js';

export function createQueueActivity(): Pick<CoordinationActivities, 'queueScaleSetChange'> {
  async function queueScaleSetChange(input: QueueScaleSetChangeInput): Promise<{ coordinator: string }> {
    const ctx = Context.current();
    const workflowId = scaleSetCoordinatorId(input.target, ctx.info.taskQueue);
    await ctx.client.workflow.signalWithStart(SCALE_SET_WORKFLOW, {
      workflowId,
      taskQueue: ctx.info.taskQueue,
      args: [{ target: input.target }],
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
      signal: SCALE_SET_CHANGE_SIGNAL,
      signalArgs: [input.change],
      staticSummary: `identities of the scale set of pool ${input.target.pool} in ${input.target.nodeResourceGroup}`,
    });
    return { coordinator: workflowId };
  }
  return { queueScaleSetChange };
}
