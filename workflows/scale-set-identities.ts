/**
 * scaleSetIdentities: the coordinator of one scale set's user-assigned identities (contract/coordination.ts), an
 * entity workflow with a well-known id, started by the first binding's signal-with-start. Changes queue up while a
 * PATCH runs (Azure takes about 40 s for one and refuses a second meanwhile); the next PATCH takes everything
 * queued, so 200 bindings arriving together cost a handful of PATCHes, and a shared identity one. Each binding gets
 * its own outcome by signal. Idle for IDLE_MS, it ends; the next change starts a new run. A long queue continues
 * as new, carrying what is still queued.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  CoordinationActivities,
  ScaleSetChange,
  ScaleSetChangeOutcome,
  ScaleSetTarget,
} from '../contract/coordination.js';
import { ErrorType } from '../contract/errors.js';
import { scaleSetChangeSignal, scaleSetOutcomeSignal } from './definitions.js';
import { activityOptions } from './runner.js';
import { scaleSetWrite } from './step-policies.js';

export interface ScaleSetCoordinatorInput {
  target: ScaleSetTarget;
  /** Changes carried over by continue-as-new. */
  queued?: ScaleSetChange[];
}

/** What arrives this soon after the first change joins its PATCH: little next to a PATCH's 40 s. */
export const GATHER_MS = 2_000;
/** How long a coordinator with nothing queued stays before it ends. */
export const IDLE_MS = 5 * 60_000;

const { applyScaleSetChanges } = proxyActivities<CoordinationActivities>({
  ...activityOptions(scaleSetWrite),
  summary: 'PATCH the identities of the scale set',
});

export async function scaleSetIdentities(input: ScaleSetCoordinatorInput): Promise<{ batches: number }> {
  const queue: ScaleSetChange[] = [...(input.queued ?? [])];
  // A retried queueing activity delivers a change twice: the second copy is dropped.
  const seen = new Set(queue.map((c) => c.requestId));
  setHandler(scaleSetChangeSignal, (change) => {
    if (seen.has(change.requestId)) return;
    seen.add(change.requestId);
    queue.push(change);
  });
  let batches = 0;
  for (;;) {
    if (!(await condition(() => queue.length > 0, IDLE_MS))) break;
    await sleep(GATHER_MS);
    const batch = queue.splice(0, queue.length);
    const outcomes = await apply(input.target, batch);
    batches += 1;
    await Promise.all(batch.map((change, i) => answer(change, outcomes[i]!)));
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof scaleSetIdentities>({ target: input.target, queued: queue });
    }
  }
  // Signals that arrive while this run completes make the server hand it a new task with them, so none is lost.
  return { batches };
}

/** One outcome per change; a write that failed as a whole fails every change with its reason. */
async function apply(target: ScaleSetTarget, batch: ScaleSetChange[]): Promise<ScaleSetChangeOutcome[]> {
  try {
    return (await applyScaleSetChanges({ target, changes: batch })).outcomes;
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    const error = {
      message: cause instanceof Error ? cause.message : String(cause),
      type: cause instanceof ApplicationFailure ? (cause.type ?? ErrorType.Transient) : ErrorType.Transient,
    };
    return batch.map((c) => ({ requestId: c.requestId, ok: false, error }));
  }
}

/** Tells the binding; one that has ended (cancelled meanwhile) no longer needs to know. */
async function answer(change: ScaleSetChange, outcome: ScaleSetChangeOutcome): Promise<void> {
  try {
    await getExternalWorkflowHandle(change.replyTo).signal(scaleSetOutcomeSignal, outcome);
  } catch (err) {
    log.info('a binding did not take its outcome (it has ended)', {
      binding: change.replyTo,
      error: (err as Error).message,
    });
  }
}
