/**
 * repairGmsa's logic on the real Temporal dev server, with activity doubles: a broken first chain check is a
 * finding, not the end; the identity goes on every Windows pool the cluster has now (a pool added since included,
 * Linux pools never) through the scale-set coordinator, for the binding; the grant is made without a scale-set
 * PATCH of its own; found and fixed say what drifted; nothing drifted means nothing queued and nothing fixed; a
 * binding that never completed, or a chain still broken afterwards, fails the repair.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { GrantKeyVaultAccessInput } from '../../contract/activities.js';
import type { ApplyScaleSetChangesInput } from '../../contract/coordination.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import type { ClusterFacts } from '../../contract/inspection.js';
import type { BindingRecord } from '../../contract/operations.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { activityDoubles, doubleResult, type CallRecord, type Overrides } from '../../lab/activity-doubles.js';
import { operationProgressQuery } from '../../workflows/definitions.js';
import type { RepairOutputs } from '../../workflows/repair.js';
import { uniqueRequest } from '../support/requests.js';
import { devServerEnv, withWorker } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

const HOST = '11111111-2222-4333-8444-555555555555';

function binding(id: string, request: ProvisionRequest, status = 'COMPLETED'): BindingRecord {
  const sub = request.cluster.subscriptionId;
  const rg = request.azure.resourceGroup ?? request.cluster.resourceGroup;
  return {
    bindingId: id,
    status,
    runId: 'run-1',
    request,
    ...(status === 'COMPLETED'
      ? {
          outputs: {
            clusterId: 'cluster',
            managedIdentityId: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${request.azure.managedIdentity.name}`,
            keyVaultId: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${request.azure.keyVault.name}`,
            secretUri: `https://${request.azure.keyVault.name}.vault.azure.net/secrets/${request.azure.keyVault.secretName}`,
            hostPrincipalId: HOST,
          },
        }
      : {}),
  };
}

interface World {
  id: string;
  request: ProvisionRequest;
  identityId: string;
}

function world(status = 'COMPLETED'): World & { record: BindingRecord } {
  const request = uniqueRequest('rep');
  const id = `gmsa-rep-${request.gmsa.credentialSpecName}-000000000001`;
  const record = binding(id, request, status);
  return { id, request, record, identityId: String(record.outputs?.managedIdentityId ?? '') };
}

/** The cluster as inspectCluster would show it: `withIdentity` pools carry the binding's identity. */
function cluster(w: World, pools: { name: string; os: 'Windows' | 'Linux'; withIdentity: boolean }[]) {
  return (input: Parameters<typeof doubleResult<'inspectCluster'>>[1]): ClusterFacts => {
    const base = doubleResult('inspectCluster', input);
    const kubelet = base.kubeletIdentity!.resourceId;
    return {
      ...base,
      pools: pools.map((p) => ({
        name: p.name,
        osType: p.os,
        scaleSet: p.os === 'Windows' ? `aks${p.name}` : `aks-${p.name}-1234-vmss`,
        identities: [kubelet, ...(p.withIdentity ? [w.identityId] : [])],
        identityPrincipals: {},
      })),
    };
  };
}

async function repair(w: World & { record: BindingRecord }, overrides: Overrides) {
  const { activities, calls } = activityDoubles({ readBinding: async () => w.record, ...overrides });
  return withWorker(env, activities, async (taskQueue) => {
    const handle = await env.client.workflow.start('repairGmsa', {
      taskQueue,
      workflowId: `${w.id}.repair`,
      args: [{ bindingId: w.id }],
    });
    try {
      const result = (await handle.result()) as RepairOutputs;
      return { result, calls, progress: await handle.query(operationProgressQuery) };
    } catch (e) {
      return { error: e, calls, progress: await handle.query(operationProgressQuery) };
    }
  });
}

const named = (calls: CallRecord[], name: string) => calls.filter((c) => c.name === name);
const summary = (p: { steps: { name: string; summary?: string }[] }, name: string) =>
  p.steps.find((s) => s.name === name)?.summary ?? '';

describe('repairGmsa', () => {
  test('drift: a broken chain found; the identity back on the Windows pools, a new one included; grant and spec fixed', async () => {
    const w = world();
    let chains = 0;
    const run = await repair(w, {
      inspectCluster: async (i) =>
        cluster(w, [
          { name: 'nodepool1', os: 'Linux', withIdentity: false },
          { name: 'win1', os: 'Windows', withIdentity: false },
          { name: 'win9', os: 'Windows', withIdentity: false },
        ])(i),
      verifyChain: async (i) => {
        if (chains++ === 0) throw fatal(ErrorType.PreconditionFailed, 'chain broken at "RBAC": may not use the spec');
        return doubleResult('verifyChain', i);
      },
      ensureCredentialSpec: async (i) => ({ ...doubleResult('ensureCredentialSpec', i), changed: true }),
    });
    assert.ok(run.result, `repair failed: ${String(run.error)}`);
    const r = run.result;
    assert.deepEqual(r.chainBefore, { ok: false, error: 'chain broken at "RBAC": may not use the spec' });
    assert.equal(r.chainAfter.length > 0 && r.chainAfter.every((c) => c.ok), true);
    const mi = w.request.azure.managedIdentity.name;
    assert.deepEqual(r.found, [
      'chain check failed before the repair: chain broken at "RBAC": may not use the spec',
      `identity ${mi} missing on Windows pool win1 (scale set akswin1)`,
      `identity ${mi} missing on Windows pool win9 (scale set akswin9, a pool added since the provisioning)`,
      `host principal ${HOST} may not read the secret`,
      `spec ${w.request.gmsa.credentialSpecName} or its RBAC differed from the binding`,
    ]);
    assert.equal(r.fixed.length, 4);
    assert.match(r.fixed[0]!, new RegExp(`^identity ${mi} attached to .* \\(pool win1\\)$`));
    assert.match(r.fixed[1]!, /\(pool win9\)$/);

    // Through the coordinator, for the binding (never the repair's own id), Windows pools only.
    const writes = named(run.calls, 'applyScaleSetChanges').map((c) => c.input as ApplyScaleSetChangesInput);
    const changes = writes.flatMap((b) => b.changes.map((c) => ({ pool: b.target.pool, ...c })));
    assert.deepEqual(changes.map((c) => c.pool).sort(), ['win1', 'win9']);
    for (const c of changes) {
      assert.equal(c.op, 'attach');
      assert.equal(c.identityId, w.identityId);
      assert.deepEqual(c.owner, { binding: w.id, adopt: [] });
    }
    const grant = named(run.calls, 'grantKeyVaultAccess')[0]?.input as GrantKeyVaultAccessInput;
    assert.equal(grant.attachToScaleSets, false, 'the grant makes no scale-set PATCH of its own');
    assert.deepEqual(grant.owner, { binding: w.id, adopt: [] });
    assert.equal(grant.managedIdentity?.principalId, HOST);
    assert.equal(grant.accessMode, 'rbac', "the vault's own model (listSecretReaders)");
    const spec = named(run.calls, 'ensureCredentialSpec')[0]?.input as { hostAccount: { principalId: string } };
    assert.equal(spec.hostAccount.principalId, HOST);

    // The first chain check ran before any write.
    const firstChain = named(run.calls, 'verifyChain')[0]!;
    const firstWrite = Math.min(
      ...['queueScaleSetChange', 'grantKeyVaultAccess', 'ensureCredentialSpec'].flatMap((n) =>
        named(run.calls, n).map((c) => c.startedAt),
      ),
    );
    assert.ok(firstChain.endedAt <= firstWrite, 'the chain was checked before anything was written');
    assert.match(summary(run.progress, 'chainBefore'), /^found: chain broken at "RBAC"/);
    assert.match(summary(run.progress, 'attachIdentity'), /^found: .*win1.*win9.* — fixed: /);
    assert.match(summary(run.progress, 'grantKeyVaultAccess'), /^found: host principal .* — fixed: granted/);
    assert.match(summary(run.progress, 'ensureCredentialSpec'), /^found: .* — fixed: rewrote them$/);
    assert.equal((run.progress.outputs as RepairOutputs | undefined)?.found.length, 5, 'progress carries the outputs');
  });

  test('nothing drifted: nothing queued at a coordinator, nothing fixed', async () => {
    const w = world();
    const run = await repair(w, {
      inspectCluster: async (i) =>
        cluster(w, [
          { name: 'nodepool1', os: 'Linux', withIdentity: false },
          { name: 'win1', os: 'Windows', withIdentity: true },
        ])(i),
      listSecretReaders: async (i) => ({
        ...doubleResult('listSecretReaders', i),
        readers: [{ principalId: HOST, via: 'roleAssignment', scope: 's', permissions: ['get'], readsValue: true }],
      }),
      ensureCredentialSpec: async (i) => ({ ...doubleResult('ensureCredentialSpec', i), changed: false }),
    });
    assert.ok(run.result, `repair failed: ${String(run.error)}`);
    assert.deepEqual(run.result.found, []);
    assert.deepEqual(run.result.fixed, []);
    assert.equal(run.result.chainBefore.ok, true);
    assert.deepEqual(named(run.calls, 'queueScaleSetChange'), []);
    assert.equal(summary(run.progress, 'attachIdentity'), 'identity on every Windows pool (win1)');
  });

  test('a binding that did not complete is refused before anything is read or written', async () => {
    const w = world('FAILED');
    const run = await repair(w, {});
    assert.ok(run.error instanceof WorkflowFailedError, 'the repair fails');
    assert.match(String(run.error.cause?.message), /is FAILED, not completed: .*run the provisioning again/);
    for (const n of ['verifyChain', 'inspectCluster', 'grantKeyVaultAccess', 'ensureCredentialSpec']) {
      assert.deepEqual(named(run.calls, n), [], `${n} not called`);
    }
  });

  test('a chain still broken after the repair fails it, naming the link', async () => {
    const w = world();
    const run = await repair(w, {
      verifyChain: async () => {
        throw fatal(ErrorType.PreconditionFailed, 'chain broken at "gMSA": not visible');
      },
    });
    assert.ok(run.error instanceof WorkflowFailedError);
    assert.match(String(run.error.cause?.message), /verifyChain failed: chain broken at "gMSA"/);
    assert.match(summary(run.progress, 'chainBefore'), /^found: chain broken at "gMSA"/);
  });
});
