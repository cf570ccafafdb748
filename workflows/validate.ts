/**
 * validateGmsa (DESIGN "Day 2", `<binding>.validate`): is the binding's chain whole?
 *
 * - `chain`: the provisioning's own verifyChain as an operation, from the binding's request and outputs: the secret
 *   as the CCG plugin reads it, AD bind as the standard user, the gMSA's managed password, RBAC `use`. No Windows
 *   node needed; a broken link fails the run naming it.
 * - `pod`: a Windows pod that uses the spec, on the binding's first Windows pool with the image of its OS SKU, runs
 *   what Start-GMSACredentialSpecValidation runs; every check must pass, read from its output.
 *
 * Both read a settled binding: a provisioning still running has nothing whole to validate.
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { VerifyChainResult } from '../contract/activities.js';
import { ErrorType } from '../contract/errors.js';
import type { ClusterFacts } from '../contract/inspection.js';
import type { BindingRecord, ValidateInput } from '../contract/operations.js';
import type { ValidateResult, ValidationPodResult } from '../contract/validation.js';
import { UnsupportedWindowsSku, windowsImagesFor } from '../domain/windows-image.js';
import { bindingOwner, chainInput, readBindingPolicy, requestOf, runOperation } from './operation.js';
import { graph, refuse, stepsFor } from './runner.js';
import { HEARTBEAT, quick, verification, type StepPolicy } from './step-policies.js';

export const DEFAULT_POD_TIMEOUT_SECONDS = 300;

interface ChainResults {
  readBinding: BindingRecord;
  verifyChain: VerifyChainResult;
}
interface PodResults {
  readBinding: BindingRecord;
  inspectCluster: ClusterFacts;
  runValidationPod: ValidationPodResult;
}

const readBindingStep = <R extends { readBinding: BindingRecord }>() =>
  stepsFor<ValidateInput, R>().activity('readBinding', {
    needs: [],
    policy: readBindingPolicy,
    describe: (i) => `read binding ${i.bindingId}`,
    input: (i) => ({ bindingId: i.bindingId, requireSettled: true }),
    summary: (b) => `provisioning ${b.status.toLowerCase()} (run ${b.runId})`,
  });

const chain = stepsFor<ValidateInput, ChainResults>();
const chainSteps = graph<ValidateInput, ChainResults>([
  readBindingStep<ChainResults>(),
  chain.activity('verifyChain', {
    needs: ['readBinding'],
    policy: verification,
    describe: () => 'verify secret → AD → gMSA password → RBAC',
    input: (_i, { readBinding: b }) => chainInput(b),
    summary: (v) => v.checks.map((c) => `${c.ok ? '✔' : '✖'} ${c.link}`).join(', '),
  }),
]);

/** The pod's step: its attempt outlasts the pod's own timeout; a retry (a worker that died) reuses the pod. */
const podPolicy = (timeoutSeconds: number): StepPolicy => ({
  ...quick,
  startToClose: `${timeoutSeconds + 120} seconds`,
  heartbeat: HEARTBEAT,
  maxAttempts: 3,
});

function podSteps(timeoutSeconds: number) {
  const pod = stepsFor<ValidateInput, PodResults>();
  return graph<ValidateInput, PodResults>([
    readBindingStep<PodResults>(),
    pod.activity('inspectCluster', {
      needs: ['readBinding'],
      policy: quick,
      describe: () => "read the cluster's node pools",
      input: (_i, { readBinding: b }) => ({ cluster: requestOf(b).cluster }),
      summary: (f) =>
        `Windows pools: ${
          f.pools
            .filter((p) => p.osType === 'Windows')
            .map((p) => `${p.name} (${p.osSku ?? 'no OS SKU'})`)
            .join(', ') || 'none'
        }`,
    }),
    pod.activity('runValidationPod', {
      needs: ['readBinding', 'inspectCluster'],
      policy: podPolicy(timeoutSeconds),
      describe: () => 'run the checks in a Windows pod that uses the credential spec',
      input: (i, { readBinding: b, inspectCluster: facts }) => {
        const r = requestOf(b);
        const name = r.cluster.windowsNodePools[0];
        if (!name) throw refuse(`binding ${b.bindingId} names no Windows node pool to validate on`);
        const pool = facts.pools.find((p) => p.name.toLowerCase() === name.toLowerCase());
        if (!pool) throw refuse(`node pool ${name} of binding ${b.bindingId} is not on cluster ${r.cluster.name}`);
        if (pool.osType !== 'Windows') throw refuse(`node pool ${name} runs ${pool.osType}, not Windows`);
        try {
          windowsImagesFor(pool.osSku, pool.name);
        } catch (e) {
          if (e instanceof UnsupportedWindowsSku) throw refuse(e.message);
          throw e;
        }
        return {
          cluster: r.cluster,
          specName: r.gmsa.credentialSpecName,
          gmsaName: r.gmsa.name,
          domainFqdn: r.domain.fqdn,
          namespace: r.options.rbac.namespace,
          serviceAccount: r.options.rbac.serviceAccount,
          pool: { name: pool.name, osSku: pool.osSku },
          timeoutSeconds,
          run: workflowInfo().runId,
          owner: bindingOwner(i.bindingId),
        };
      },
      summary: (p) =>
        `${p.checks.filter((c) => c.ok).length}/${p.checks.length} checks passed in ${p.namespace}/${p.pod}` +
        `${p.node ? ` on ${p.node}` : ''}`,
    }),
  ]);
}

export async function validateGmsa(input: ValidateInput): Promise<ValidateResult> {
  if (input.mode === 'chain') {
    return runOperation({
      names: ['readBinding', 'verifyChain'] as const,
      graph: chainSteps,
      input,
      context: {},
      outputs: (r): ValidateResult => ({ mode: 'chain', checks: r.verifyChain.checks }),
    });
  }
  if (input.mode !== 'pod') {
    throw ApplicationFailure.nonRetryable(
      `mode must be "chain" or "pod", not ${JSON.stringify(input.mode)}`,
      ErrorType.InvalidInput,
    );
  }
  const timeoutSeconds = input.timeoutSeconds ?? DEFAULT_POD_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
    throw ApplicationFailure.nonRetryable(
      `timeoutSeconds must be a whole number of seconds from 1 to 3600, not ${timeoutSeconds}`,
      ErrorType.InvalidInput,
    );
  }
  return runOperation({
    names: ['readBinding', 'inspectCluster', 'runValidationPod'] as const,
    graph: podSteps(timeoutSeconds),
    input,
    context: {},
    outputs: (r): ValidateResult => ({
      mode: 'pod',
      checks: r.runValidationPod.checks,
      pod: {
        name: r.runValidationPod.pod,
        namespace: r.runValidationPod.namespace,
        node: r.runValidationPod.node,
        image: r.runValidationPod.image,
        pool: requestOf(r.readBinding).cluster.windowsNodePools[0]!,
      },
    }),
  });
}
