/**
 * What every day-2 operation shares (DESIGN "Day 2"): it acts for its binding (the provisioning id, not its own
 * workflow id, is the owner every removal and write names), reads the binding first (readBinding), runs its steps
 * with the step runner and answers the same `progress` query as a provisioning, so the API reads an operation the
 * way it reads a provisioning. No rollback: an operation converges, and a rerun finishes what a failed one began.
 */
import { patched, setHandler } from '@temporalio/workflow';
import type { Owner, VerifyChainInput } from '../contract/activities.js';
import type { BindingRecord } from '../contract/operations.js';
import type { ProvisionInput, ProvisionOutputs } from './definitions.js';
import { operationProgressQuery } from './definitions.js';
import { ProgressTracker } from './progress.js';
import { keepFinalProgress, PHASE_SEARCH_ATTRIBUTE } from './provision.js';
import { refuse, reporter, runGraph, type Graph } from './runner.js';
import { quick, type StepPolicy } from './step-policies.js';

/** The binding is the owner of whatever an operation writes or removes; it adopts nothing. */
export const bindingOwner = (bindingId: string): Owner => ({ binding: bindingId, adopt: [] });

/** readBinding's policy: a read of Temporal, retried briefly. */
export const readBindingPolicy: StepPolicy = { ...quick, maxAttempts: 5 };

/** The binding's request and, when its provisioning completed, its outputs. */
export const requestOf = (b: BindingRecord): ProvisionInput => b.request;
export const outputsOf = (b: BindingRecord): ProvisionOutputs | undefined => b.outputs as ProvisionOutputs | undefined;

/** The chain check of the binding as its provisioning ran it; refused for one that never completed (no secret). */
export function chainInput(b: BindingRecord): VerifyChainInput {
  const r = requestOf(b);
  const outputs = outputsOf(b);
  if (!outputs?.secretUri) {
    throw refuse(
      `provisioning ${b.bindingId} ended ${b.status}, so it has no secret to check: run the provisioning ` +
        'again to completion first',
    );
  }
  return {
    cluster: r.cluster,
    domainFqdn: r.domain.fqdn,
    gmsaName: r.gmsa.name,
    specName: r.gmsa.credentialSpecName,
    secretUri: outputs.secretUri,
    rbac: r.options.rbac,
  };
}

/**
 * Runs an operation's graph with a progress query of its own step names; its outputs, from the step results, are
 * the workflow's result and `progress.outputs`. Like a provisioning, it keeps GmsaPhase current and ends by keeping
 * its final progress in the memo (patches `phase-search-attribute`, `final-progress-memo`).
 */
export async function runOperation<Req, R, N extends string, C, O>(o: {
  names: readonly N[];
  graph: Graph<Req, R, C>;
  input: Req;
  context: C;
  outputs: (results: R) => O;
}): Promise<O> {
  const progress = new ProgressTracker<N, O>(o.names);
  const report = reporter(progress as unknown as ProgressTracker<string, unknown>, patched(PHASE_SEARCH_ATTRIBUTE));
  setHandler(operationProgressQuery, () => progress.snapshot());
  try {
    const results = await runGraph(o.graph, o.input, {
      progress: progress as unknown as ProgressTracker<N, unknown>,
      context: o.context,
      rollback: false,
      ownership: true,
      report,
    });
    progress.outputs = o.outputs(results);
    progress.finish('completed');
    report();
    return progress.outputs;
  } finally {
    keepFinalProgress(progress);
  }
}
