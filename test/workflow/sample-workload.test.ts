/**
 * gmsaSampleWorkload on the real Temporal dev server, with activity doubles: its answer is the binding's sample
 * Deployment (the spec, namespace, service account from the binding's request; the image from the OS SKU the
 * cluster reports for its pools), and a pool the binding names that the cluster lacks, or a Windows2019 one, fails
 * the run saying so.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseAllDocuments } from 'yaml';
import type { ClusterFacts } from '../../contract/inspection.js';
import { INSPECTION_WORKFLOWS, inspectionId, type SampleWorkloadResult } from '../../contract/operations.js';
import { activityDoubles } from '../../lab/activity-doubles.js';
import { uniqueRequest } from '../support/requests.js';
import { devServerEnv, withWorker } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

interface DeploymentSpec {
  template: {
    spec: { serviceAccountName: string; securityContext: { windowsOptions: { gmsaCredentialSpecName: string } } };
  };
}

async function sample(pools: ClusterFacts['pools'], windowsNodePools = ['win1']) {
  const request = uniqueRequest('smp');
  request.cluster.windowsNodePools = windowsNodePools;
  request.options.rbac = { namespace: 'apps', serviceAccount: 'webapp-sa' };
  const bindingId = `gmsa-${request.cluster.name}-${request.gmsa.credentialSpecName}-${randomBytes(6).toString('hex')}`;
  const { activities } = activityDoubles({
    readBinding: async () => ({ bindingId, status: 'COMPLETED', runId: 'r', request }),
    inspectCluster: async () => ({
      clusterId: 'c',
      nodeResourceGroup: 'MC',
      gmsaEnabled: true,
      provisioningState: 'Succeeded',
      pools,
    }),
  });
  const result = withWorker(env, activities, (taskQueue) =>
    env.client.workflow.execute(INSPECTION_WORKFLOWS.sampleWorkload, {
      taskQueue,
      workflowId: inspectionId(bindingId, 'sampleWorkload'),
      args: [{ bindingId }],
    }),
  ) as Promise<SampleWorkloadResult>;
  return { request, result };
}

test("answers the binding's Deployment YAML with the image of its pool's OS SKU", async () => {
  const { request, result } = await sample([{ name: 'win1', osType: 'Windows', osSku: 'Windows2025', identities: [] }]);
  const r = await result;
  assert.equal(r.image, 'mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025');
  assert.deepEqual(r.nodeSelector, { 'kubernetes.io/os': 'windows', agentpool: 'win1' });
  const d = parseAllDocuments(r.yaml)
    .map((x) => x.toJS() as { kind: string; metadata: { namespace: string }; spec: DeploymentSpec })
    .find((o) => o.kind === 'Deployment')!;
  assert.equal(d.metadata.namespace, 'apps');
  assert.equal(d.spec.template.spec.serviceAccountName, 'webapp-sa');
  assert.equal(
    d.spec.template.spec.securityContext.windowsOptions.gmsaCredentialSpecName,
    request.gmsa.credentialSpecName,
  );
});

test('a pool missing from the cluster, or on Windows2019, fails the run saying so', async () => {
  const missing = await sample([{ name: 'win1', osType: 'Windows', osSku: 'Windows2022', identities: [] }], ['win9']);
  await assert.rejects(
    missing.result,
    (e: unknown) =>
      e instanceof WorkflowFailedError &&
      /sampleWorkload failed: node pool win9 of binding .* is not on cluster/.test(String(e.cause?.message)),
  );
  const old = await sample([{ name: 'win1', osType: 'Windows', osSku: 'Windows2019', identities: [] }]);
  await assert.rejects(
    old.result,
    (e: unknown) =>
      e instanceof WorkflowFailedError &&
      /win1 runs Windows2019, which is out of support/.test(String(e.cause?.message)),
  );
});
