/**
 * validateGmsa's logic on the real Temporal dev server, with activity doubles: chain mode runs verifyChain from the
 * binding's request and outputs and fails naming the broken link; pod mode reads the cluster's pools, runs the pod
 * on the binding's first Windows pool with its OS SKU, in the binding's namespace as its service account, for the
 * binding (owner) and this run; a failing check fails the run naming itself; a Windows2019 pool is refused before
 * any pod.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { fatal } from '../../contract/errors.js';
import type { ClusterFacts } from '../../contract/inspection.js';
import type { BindingRecord } from '../../contract/operations.js';
import type { ValidateResult, ValidationPodInput } from '../../contract/validation.js';
import { describeChecks, judgeValidationLog } from '../../domain/validation-output.js';
import { activityDoubles, doubleResult, type CallRecord, type Overrides } from '../../lab/activity-doubles.js';
import { runOperation } from '../support/operations.js';
import { uniqueRequest } from '../support/requests.js';
import { devServerEnv, withWorker } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

function binding(o: { status?: string; outputs?: boolean } = {}): BindingRecord {
  const request = uniqueRequest('val');
  const bindingId = `gmsa-${request.cluster.name}-${request.gmsa.credentialSpecName}-${randomBytes(6).toString('hex')}`;
  const secretUri = `https://${request.azure.keyVault.name}.vault.azure.net/secrets/${request.azure.keyVault.secretName}`;
  return {
    bindingId,
    status: o.status ?? 'COMPLETED',
    runId: 'run-of-the-provisioning',
    request,
    ...(o.outputs === false ? {} : { outputs: { secretUri, credentialSpecName: request.gmsa.credentialSpecName } }),
  };
}

const facts = (b: BindingRecord, osSku = 'Windows2022'): ClusterFacts => ({
  clusterId: `/subscriptions/${b.request.cluster.subscriptionId}/…/${b.request.cluster.name}`,
  nodeResourceGroup: 'MC_rg',
  gmsaEnabled: true,
  provisioningState: 'Succeeded',
  pools: [
    { name: 'nodepool1', osType: 'Linux', osSku: 'Ubuntu', identities: [] },
    ...b.request.cluster.windowsNodePools.map((name) => ({ name, osType: 'Windows' as const, osSku, identities: [] })),
  ],
});

/** Runs validate for `b` with the doubles (readBinding answers `b`, inspectCluster `clusterFacts`). */
async function validate(
  b: BindingRecord,
  input: { mode: 'chain' | 'pod'; timeoutSeconds?: number },
  o: { clusterFacts?: ClusterFacts; overrides?: Overrides } = {},
): Promise<{ run: Promise<Awaited<ReturnType<typeof runOperation<ValidateResult>>>>; calls: CallRecord[] }> {
  const { activities, calls } = activityDoubles({
    readBinding: async (i) => {
      assert.equal(i.bindingId, b.bindingId);
      return b;
    },
    inspectCluster: async () => o.clusterFacts ?? facts(b),
    ...o.overrides,
  });
  const run = withWorker(env, activities, (taskQueue) =>
    runOperation<ValidateResult>(env.client, taskQueue, 'validate', { bindingId: b.bindingId, ...input }),
  );
  // Settle both before the assertions read `calls`.
  await run.catch(() => undefined);
  return { run, calls };
}

const callOf = (calls: CallRecord[], name: string) => calls.find((c) => c.name === name);
async function failureOf(run: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await run;
  } catch (e) {
    assert.ok(e instanceof WorkflowFailedError, String(e));
    return e.cause as ApplicationFailure;
  }
  assert.fail('the validation should have failed');
}

describe('validate mode chain', () => {
  test("runs verifyChain from the binding's request and outputs, on a settled binding", async () => {
    const b = binding();
    const { run, calls } = await validate(b, { mode: 'chain' });
    const { result, progress } = await run;
    assert.deepEqual(callOf(calls, 'readBinding')!.input, { bindingId: b.bindingId, requireSettled: true });
    const r = b.request;
    assert.deepEqual(callOf(calls, 'verifyChain')!.input, {
      cluster: r.cluster,
      domainFqdn: r.domain.fqdn,
      gmsaName: r.gmsa.name,
      specName: r.gmsa.credentialSpecName,
      secretUri: b.outputs!.secretUri,
      rbac: r.options.rbac,
    });
    assert.equal(result.mode, 'chain');
    assert.deepEqual(result.checks, doubleResult('verifyChain', callOf(calls, 'verifyChain')!.input as never).checks);
    assert.deepEqual(
      progress.steps.map((s) => [s.name, s.status]),
      [
        ['readBinding', 'succeeded'],
        ['verifyChain', 'succeeded'],
      ],
    );
    assert.equal(callOf(calls, 'runValidationPod'), undefined);
  });

  test('a broken link fails the run, naming the link', async () => {
    const b = binding();
    const { run } = await validate(
      b,
      { mode: 'chain' },
      {
        overrides: {
          verifyChain: async () => {
            throw fatal(
              'PreconditionFailed',
              `chain broken at "gMSA managed password": ${b.request.gmsa.standardUser} cannot read it`,
            );
          },
        },
      },
    );
    const f = await failureOf(run);
    assert.match(f.message, /^verifyChain failed: chain broken at "gMSA managed password"/);
  });

  test('a binding whose provisioning did not complete has nothing to validate', async () => {
    const b = binding({ status: 'FAILED', outputs: false });
    const { run, calls } = await validate(b, { mode: 'chain' });
    const f = await failureOf(run);
    assert.match(f.message, /ended FAILED, so it has no secret to check: run the provisioning again/);
    assert.equal(callOf(calls, 'verifyChain'), undefined);
  });
});

describe('validate mode pod', () => {
  test("runs the pod on the binding's first Windows pool, as its service account, for the binding and this run", async () => {
    const b = binding();
    const { run, calls } = await validate(b, { mode: 'pod' }, { clusterFacts: facts(b, 'Windows2025') });
    const { result, progress } = await run;
    const r = b.request;
    const podInput = callOf(calls, 'runValidationPod')!.input as ValidationPodInput;
    assert.deepEqual(callOf(calls, 'inspectCluster')!.input, { cluster: r.cluster });
    assert.equal(podInput.namespace, r.options.rbac.namespace);
    assert.equal(podInput.serviceAccount, r.options.rbac.serviceAccount);
    assert.equal(podInput.specName, r.gmsa.credentialSpecName);
    assert.equal(podInput.gmsaName, r.gmsa.name);
    assert.equal(podInput.domainFqdn, r.domain.fqdn);
    assert.deepEqual(podInput.pool, { name: r.cluster.windowsNodePools[0], osSku: 'Windows2025' });
    assert.equal(podInput.timeoutSeconds, 300);
    assert.deepEqual(podInput.owner, { binding: b.bindingId, adopt: [] });
    const { runId } = await env.client.workflow.getHandle(`${b.bindingId}.validate`).describe();
    assert.equal(podInput.run, runId, 'the pod is named for this run');
    assert.equal(result.mode, 'pod');
    assert.equal(result.pod?.image, 'mcr.microsoft.com/windows/servercore:ltsc2025');
    assert.equal(result.pod?.pool, r.cluster.windowsNodePools[0]);
    assert.equal(result.checks.length, 5);
    assert.ok(result.checks.every((c) => c.ok));
    assert.deepEqual(
      progress.steps.map((s) => s.name),
      ['readBinding', 'inspectCluster', 'runValidationPod'],
    );
  });

  test('a failing check fails the run and names itself (the #99862 nltest output, exit code 0)', async () => {
    const b = binding();
    const log = [
      '##aks-gmsa-check:begin:sc-verify##',
      'Flags: 0',
      'Connection Status = 1311 0x51f ERROR_NO_LOGON_SERVERS',
      'The command completed successfully',
      '##aks-gmsa-check:end:sc-verify:exit=0##',
    ].join('\r\n');
    const { run } = await validate(
      b,
      { mode: 'pod', timeoutSeconds: 30 },
      {
        overrides: {
          runValidationPod: async (i) => {
            assert.equal(i.timeoutSeconds, 30);
            const checks = judgeValidationLog(log, { domainFqdn: i.domainFqdn, gmsaName: i.gmsaName });
            throw fatal('PreconditionFailed', `validation pod ${i.namespace}/x: ${describeChecks(checks)}`);
          },
        },
      },
    );
    const f = await failureOf(run);
    assert.match(f.message, /^runValidationPod failed: validation pod .*: 5 of 5 checks failed/);
    assert.match(f.message, /✖ secure channel \(nltest \/sc_verify\): Connection: 1311 ERROR_NO_LOGON_SERVERS/);
  });

  test('a Windows2019 pool is refused before any pod, saying why', async () => {
    const b = binding();
    const { run, calls } = await validate(b, { mode: 'pod' }, { clusterFacts: facts(b, 'Windows2019') });
    const f = await failureOf(run);
    assert.match(f.message, /^runValidationPod failed: node pool \S+ runs Windows2019, which is out of support/);
    assert.equal(callOf(calls, 'runValidationPod'), undefined);
  });

  test('a timeout out of range is refused as bad input', async () => {
    const b = binding();
    const { run, calls } = await validate(b, { mode: 'pod', timeoutSeconds: 0 });
    const f = await failureOf(run);
    assert.equal(f.type, 'InvalidInput');
    assert.match(f.message, /timeoutSeconds must be a whole number of seconds from 1 to 3600, not 0/);
    assert.equal(callOf(calls, 'readBinding'), undefined);
  });
});
