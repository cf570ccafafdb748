// The API suite's workflows: the product's provisioning (to make bindings) and, under the day-2 workflow types,
// stand-ins built on the product's own operation runner (workflows/operation.ts): readBinding, then a chain check,
// with the `progress` query the API reads. They echo their input, so a test proves what the API started them with,
// independent of what the real operations do (their own suites test that).
import { proxyActivities } from '@temporalio/workflow';
import type { BindingInput, BindingRecord, SampleWorkloadResult } from '../../contract/operations.js';
import { runOperation, readBindingPolicy } from '../../workflows/operation.js';
import { activityOptions, graph, stepsFor } from '../../workflows/runner.js';
import { quick } from '../../workflows/step-policies.js';
import type { GmsaActivities } from '../../contract/activities.js';

export { provisionGmsa } from '../../workflows/provision.js';
export { scaleSetIdentities } from '../../workflows/scale-set-identities.js';

type Input = BindingInput & Record<string, unknown>;
interface Results {
  readBinding: BindingRecord;
  verifyChain: Awaited<ReturnType<GmsaActivities['verifyChain']>>;
}
const NAMES = ['readBinding', 'verifyChain'] as const;
const step = stepsFor<Input, Results>();
const standIn = graph<Input, Results>([
  step.activity('readBinding', {
    needs: [],
    policy: readBindingPolicy,
    describe: (i) => `read binding ${i.bindingId}`,
    input: (i) => ({ bindingId: i.bindingId, requireSettled: true }),
    summary: (b) => `binding ${b.bindingId} is ${b.status}`,
  }),
  step.activity('verifyChain', {
    needs: ['readBinding'],
    policy: quick,
    describe: () => 'check the chain',
    input: (_i, got) => {
      const r = got.readBinding.request;
      return {
        cluster: r.cluster,
        specName: r.gmsa.credentialSpecName,
        secretUri: String(got.readBinding.outputs?.secretUri ?? ''),
        rbac: r.options.rbac,
        gmsaName: r.gmsa.name,
        domainFqdn: r.domain.fqdn,
      };
    },
    summary: (c) => `${c.checks.length} checks`,
  }),
]);

const operation = (kind: string) => (input: Input) =>
  runOperation({
    names: NAMES,
    graph: standIn,
    input,
    context: {},
    outputs: (r) => ({ kind, input, bindingStatus: r.readBinding.status, checks: r.verifyChain.checks.length }),
  });

export const deprovisionGmsa = operation('deprovision');
export const rotateGmsaUserPassword = operation('rotate-password');
export const repairGmsa = operation('repair');
export const validateGmsa = operation('validate');

const { readBinding } = proxyActivities<GmsaActivities>(activityOptions(readBindingPolicy));

/** As the real one: a step graph, so a failed step fails the run as StepFailed with its type in progress. */
export const gmsaAccess = (input: BindingInput) =>
  runOperation({
    names: ['readBinding'] as const,
    graph: graph<BindingInput, { readBinding: BindingRecord }>([
      stepsFor<BindingInput, { readBinding: BindingRecord }>().activity('readBinding', {
        needs: [],
        policy: readBindingPolicy,
        describe: (i) => `read binding ${i.bindingId}`,
        input: (i) => ({ bindingId: i.bindingId }),
        summary: (b) => b.status,
      }),
    ]),
    input,
    context: {},
    outputs: ({ readBinding: b }) => ({
      bindingId: b.bindingId,
      pools: b.request.cluster.windowsNodePools.map((name) => ({ name, expected: true, hasAccess: true })),
    }),
  });

export async function gmsaSampleWorkload(input: BindingInput): Promise<SampleWorkloadResult> {
  const b = await readBinding({ bindingId: input.bindingId });
  const spec = b.request.gmsa.credentialSpecName;
  const nodeSelector = { 'kubernetes.io/os': 'windows' };
  const image = 'mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022';
  return {
    yaml: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${spec}-sample\n# spec ${spec}\n`,
    image,
    nodeSelector,
  };
}
