/**
 * provisionGmsa: the steps of DESIGN "The provisioning workflow" (workflows/steps.ts), run by the step runner with
 * the server's retries, and the durable KDS wait in the middle.
 */
import { patched, setCurrentDetails, setHandler } from '@temporalio/workflow';
import { approveAdStepSignal, progressQuery, type ProvisionInput, type ProvisionOutputs } from './definitions.js';
import { provisionGmsaV1 } from './legacy/provision-v1.js';
import { ProgressTracker } from './progress.js';
import { runGraph } from './runner.js';
import { provisionOutputs, provisionSteps } from './steps.js';

/**
 * Patch id: the step graph with the server's retries (one activity per step, activityId = step name). Runs started
 * before it take the retry loop of legacy/provision-v1.ts; see there for when both can go.
 */
export const STEP_GRAPH_SERVER_RETRIES = 'step-graph-server-retries';

export async function provisionGmsa(request: ProvisionInput): Promise<ProvisionOutputs> {
  if (!patched(STEP_GRAPH_SERVER_RETRIES)) return provisionGmsaV1(request);
  const progress = new ProgressTracker();
  setHandler(progressQuery, () => progress.snapshot());
  setHandler(approveAdStepSignal, ({ by, comment }) => {
    progress.approval ??= { by, comment, at: new Date().toISOString() };
    setCurrentDetails(progress.details());
  });
  const results = await runGraph(provisionSteps, request, {
    progress,
    context: { approval: () => progress.approval },
    rollback: request.options.rollbackOnFailure,
  });
  progress.outputs = provisionOutputs(results);
  progress.finish('completed');
  setCurrentDetails(progress.details());
  return progress.outputs;
}
