/**
 * The scale-set coordinator (workflows/scale-set-identities.ts) with activity doubles on the real dev server: many
 * bindings' identities reach the coordinator's write merged into few batches, a duplicate delivery counts once, a
 * refusal fails only the binding it names, and a rollback detaches through the same coordinator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { GmsaActivities } from '../../contract/activities.js';
import type { ApplyScaleSetChangesInput, QueueScaleSetChangeInput } from '../../contract/coordination.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import { createQueueActivity } from '../../activities/coordination.js';
import { progressQuery } from '../../workflows/definitions.js';
import { activityDoubles, doubleResult, type CallRecord } from '../../lab/activity-doubles.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { uniqueRequest } from '../support/requests.js';
import { devServerEnv, withWorker as withWorkerOn } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

/** Runs `body` with a worker over `activities` on a queue of its own. */
const withWorker = <T>(activities: GmsaActivities, body: (taskQueue: string) => Promise<T>) =>
  withWorkerOn(env, activities, body, 'coord');

const start = (taskQueue: string, request: ProvisionRequest) =>
  env.client.workflow.start('provisionGmsa', {
    taskQueue,
    workflowId: `coord-${request.gmsa.credentialSpecName}`,
    args: [request],
  });

/** The batches the coordinator's write received, in order. */
const batches = (calls: CallRecord[]) =>
  calls.filter((c) => c.name === 'applyScaleSetChanges').map((c) => c.input as ApplyScaleSetChangesInput);

/** N requests for one cluster (the lab's), each with its own identity unless `shared`. */
function fleet(prefix: string, n: number, shared?: string): ProvisionRequest[] {
  return Array.from({ length: n }, () => {
    const r = uniqueRequest(prefix);
    if (shared) r.azure.managedIdentity = { name: shared };
    return r;
  });
}

describe('scale-set coordination', () => {
  test('20 bindings started together: every identity is attached, in far fewer writes than bindings', async () => {
    const { activities, calls } = activityDoubles();
    const requests = fleet('fl', 20);
    await withWorker(activities, async (q) => {
      const handles = await Promise.all(requests.map((r) => start(q, r)));
      await Promise.all(handles.map((h) => h.result()));
      const got = batches(calls);
      // The gather window and the queue behind a running write merge arrivals: a write per binding would be 20.
      assert.ok(got.length >= 1 && got.length <= 5, `${got.length} writes for 20 bindings`);
      const attached = got.flatMap((b) => b.changes.filter((c) => c.op === 'attach').map((c) => c.identityId));
      assert.equal(attached.length, 20, 'each binding queued its identity once');
      assert.equal(new Set(attached).size, 20);
      for (const h of handles) {
        const p = await h.query(progressQuery);
        const step = p.steps.find((s) => s.name === 'attachIdentity')!;
        assert.equal(step.status, 'succeeded');
        assert.equal(step.summary, 'identity attached to aks-win1-12345678-vmss');
      }
      // Every change reached the scale set of its own pool, named by the cluster's node resource group.
      for (const b of got) {
        assert.equal(b.target.pool, 'win1');
        assert.match(b.target.nodeResourceGroup, /^MC_rg-aks_aks1_/);
      }
    });
  });

  test('a change delivered twice (a retried queueing attempt) is written once', async () => {
    const real = createQueueActivity();
    const { activities, calls } = activityDoubles({
      queueScaleSetChange: async (i: QueueScaleSetChangeInput) => {
        await real.queueScaleSetChange(i);
        return real.queueScaleSetChange(i);
      },
    });
    const [request] = fleet('dup', 1);
    await withWorker(activities, async (q) => {
      await (await start(q, request!)).result();
      const changes = batches(calls).flatMap((b) => b.changes);
      assert.equal(changes.length, 1, JSON.stringify(changes));
    });
  });

  test("a refused attach fails that binding's attachIdentity with the coordinator's reason; the others complete", async () => {
    const requests = fleet('rf', 3);
    const refused = requests[1]!.azure.managedIdentity.name;
    const limit = `scale set aks-win1-12345678-vmss has 512 user-assigned identities, Azure's limit`;
    const { activities, calls } = activityDoubles({
      applyScaleSetChanges: async (i: ApplyScaleSetChangesInput) => {
        const ok = doubleResult('applyScaleSetChanges', i);
        ok.outcomes = ok.outcomes.map((o, n) =>
          i.changes[n]!.identityId.endsWith(`/${refused}`)
            ? { requestId: o.requestId, ok: false, error: { message: limit, type: ErrorType.PreconditionFailed } }
            : o,
        );
        return ok;
      },
    });
    await withWorker(activities, async (q) => {
      const handles = await Promise.all(requests.map((r) => start(q, r)));
      const results = await Promise.allSettled(handles.map((h) => h.result()));
      assert.equal(results[0]!.status, 'fulfilled');
      assert.equal(results[2]!.status, 'fulfilled');
      const failure = results[1]!;
      assert.equal(failure.status, 'rejected');
      const err = (failure as PromiseRejectedResult).reason as WorkflowFailedError;
      assert.match(String(err.cause?.message), /^attachIdentity failed: scale set .* 512 user-assigned identities/);
      const p = await handles[1]!.query(progressQuery);
      assert.equal(p.steps.find((s) => s.name === 'attachIdentity')!.lastError?.type, ErrorType.PreconditionFailed);
      // verifyChain needs the identity on the hosts: it never ran for the refused binding.
      assert.notEqual(p.steps.find((s) => s.name === 'verifyChain')!.status, 'succeeded');
      const mine = (c: CallRecord) =>
        (c.input as { specName?: string }).specName === requests[1]!.gmsa.credentialSpecName;
      assert.equal(calls.filter((c) => c.name === 'verifyChain' && mine(c)).length, 0);
    });
  });

  test('a rollback detaches the identity through the coordinator, after its attach', async () => {
    const [request] = fleet('rb', 1);
    request!.options.rollbackOnFailure = true;
    const { activities, calls } = activityDoubles({
      verifyChain: async () => {
        throw fatal(ErrorType.PreconditionFailed, 'chain broken at "RBAC" (the test says so)');
      },
    });
    await withWorker(activities, async (q) => {
      const handle = await start(q, request!);
      await assert.rejects(handle.result(), WorkflowFailedError);
      const ops = batches(calls).flatMap((b) => b.changes.map((c) => `${c.op} ${c.identityId.split('/').pop()}`));
      const mi = request!.azure.managedIdentity.name;
      assert.deepEqual(ops, [`attach ${mi}`, `detach ${mi}`]);
      const p = await handle.query(progressQuery);
      assert.ok(p.rollback?.removed.includes(`identity ${mi} on the scale sets`), JSON.stringify(p.rollback));
    });
  });

  test('hostIdentity kubeletIdentity: nothing is queued', async () => {
    const [request] = fleet('ku', 1);
    request!.options.hostIdentity = 'kubeletIdentity';
    const { activities, calls } = activityDoubles();
    await withWorker(activities, async (q) => {
      await (await start(q, request!)).result();
      assert.equal(calls.filter((c) => c.name === 'queueScaleSetChange').length, 0);
      const grant = calls.find((c) => c.name === 'grantKeyVaultAccess')!.input as { attachToScaleSets?: boolean };
      assert.equal(grant.attachToScaleSets, false, 'coordinated runs never let grantKeyVaultAccess attach');
    });
  });
});
