/**
 * provisionGmsa as it was between the patches `step-graph-server-retries` and `shared-world-ownership`
 * (workflows/provision.ts): the v2 step graph (steps-v2.ts), rollback by what each attempt reported, the approval
 * as a bare signal. Kept as it was so those runs replay and finish as they began; remove it as provision-v1.ts says,
 * once no run started before `shared-world-ownership` is open.
 */
import { setCurrentDetails, setHandler } from '@temporalio/workflow';
import {
  approveAdStepSignal,
  progressQuery,
  STEP_NAMES_V2,
  type ProvisionInput,
  type ProvisionOutputs,
} from '../definitions.js';
import { ProgressTracker } from '../progress.js';
import { runGraph } from '../runner.js';
import { provisionOutputs, provisionSteps } from './steps-v2.js';

export async function provisionGmsaV2(request: ProvisionInput): Promise<ProvisionOutputs> {
  const progress = new ProgressTracker(STEP_NAMES_V2);
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
