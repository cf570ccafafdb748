/**
 * provisionGmsa's logic on the real Temporal dev server, with activity doubles: the dependency graph, the KDS
 * approval, retries, non-retryable failures, "not configured", cancellation and what `progress` tells.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { fatal, transient } from '../../activities/errors.js';
import { createActivities } from '../../activities/index.js';
import type { GmsaActivities } from '../../activities/types.js';
import { approveAdStepSignal, progressQuery, type Progress, type StepName } from '../../workflows/definitions.js';
import { activityDoubles, DOUBLE_RESULTS, type CallRecord, type Overrides } from '../support/activity-doubles.js';
import { exampleRequest, uniqueSpec } from '../support/requests.js';
import { devServerEnv, uniqueQueue, workflowBundle } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

/** Runs `body` with a worker over `activities` on a queue of its own. */
async function withWorker<T>(activities: GmsaActivities, body: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = uniqueQueue('wf');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  return worker.runUntil(body(taskQueue));
}

function start(taskQueue: string, request = exampleRequest({ spec: uniqueSpec() })) {
  return env.client.workflow.start('provisionGmsa', {
    taskQueue,
    workflowId: `test-${request.gmsa.credentialSpecName}`,
    args: [request],
  });
}

const step = (p: Progress, name: StepName) => p.steps.find((s) => s.name === name)!;
const call = (calls: CallRecord[], name: StepName) => {
  const c = calls.find((x) => x.name === name);
  assert.ok(c, `${name} was not called`);
  return c;
};

async function waitForProgress(handle: WorkflowHandle, ok: (p: Progress) => boolean, what: string): Promise<Progress> {
  const deadline = Date.now() + 20_000;
  let last: Progress | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(progressQuery);
    if (ok(last)) return last;
    await delay(100);
  }
  assert.fail(
    `timed out waiting for ${what}; last progress: ${JSON.stringify(last?.steps.map((s) => [s.name, s.status]))}`,
  );
}

describe('provisionGmsa', () => {
  test('happy path: every step succeeds and the outputs name what was created', async () => {
    const { activities, calls } = activityDoubles();
    await withWorker(activities, async (q) => {
      const handle = await start(q);
      const outputs = await handle.result();
      assert.deepEqual(outputs, {
        clusterId: DOUBLE_RESULTS.confirmAksGmsa.clusterId,
        managedIdentityId: DOUBLE_RESULTS.ensureManagedIdentity.id,
        keyVaultId: DOUBLE_RESULTS.ensureKeyVault.id,
        secretUri: DOUBLE_RESULTS.storeUserSecret.secretUri,
        domainUserDn: DOUBLE_RESULTS.ensureDomainUser.dn,
        gmsaDn: DOUBLE_RESULTS.ensureGmsa.dn,
        credentialSpecName: DOUBLE_RESULTS.ensureCredentialSpec.name,
        hostPrincipalId: DOUBLE_RESULTS.grantKeyVaultAccess.principalId,
        kdsRootKeyId: DOUBLE_RESULTS.ensureKdsRootKey.keyId,
      });
      const progress = await handle.query(progressQuery);
      assert.equal(progress.phase, 'completed');
      for (const s of progress.steps) {
        assert.equal(s.status, 'succeeded', `${s.name} is ${s.status}`);
        assert.ok(s.startedAt && s.endedAt, `${s.name} has times`);
      }
      assert.equal(step(progress, 'awaitAdApproval').summary, 'KDS root key already usable');
      assert.equal(calls.length, 11, 'each activity once');
      // What flows between steps: the user's SID into the gMSA, the identity's principal into the spec.
      assert.deepEqual((call(calls, 'ensureGmsa').input as { allowedPrincipalSids: string[] }).allowedPrincipalSids, [
        DOUBLE_RESULTS.ensureDomainUser.sid,
      ]);
      const spec = call(calls, 'ensureCredentialSpec').input as {
        hostAccount: { principalId: string; secretUri: string };
      };
      assert.deepEqual(spec.hostAccount, {
        principalId: DOUBLE_RESULTS.ensureManagedIdentity.principalId,
        secretUri: DOUBLE_RESULTS.storeUserSecret.secretUri,
      });
    });
  });

  test('independent steps overlap and dependent ones wait for what they need', async () => {
    const d = 400;
    const independent: StepName[] = [
      'confirmAksGmsa',
      'ensureManagedIdentity',
      'ensureKeyVault',
      'getDomainFacts',
      'ensureKdsRootKey',
    ];
    const overrides: Overrides = {};
    for (const name of independent) {
      (overrides as Record<string, unknown>)[name] = async () => {
        await delay(d);
        return structuredClone(DOUBLE_RESULTS[name as keyof typeof DOUBLE_RESULTS]);
      };
    }
    const { activities, calls } = activityDoubles(overrides);
    await withWorker(activities, async (q) => {
      await (await start(q)).result();
    });
    const first = independent.map((n) => call(calls, n));
    const latestStart = Math.max(...first.map((c) => c.startedAt));
    const earliestEnd = Math.min(...first.map((c) => c.endedAt));
    assert.ok(latestStart < earliestEnd, `all five ran at once: last start ${latestStart} < first end ${earliestEnd}`);
    const after = (later: StepName, ...before: StepName[]) => {
      for (const b of before)
        assert.ok(call(calls, later).startedAt >= call(calls, b).endedAt, `${later} starts after ${b} ends`);
    };
    after('storeUserSecret', 'ensureKeyVault');
    after('ensureDomainUser', 'storeUserSecret', 'ensureKdsRootKey');
    after('ensureGmsa', 'ensureDomainUser');
    after('grantKeyVaultAccess', 'confirmAksGmsa', 'ensureManagedIdentity', 'ensureKeyVault');
    after(
      'ensureCredentialSpec',
      'getDomainFacts',
      'ensureGmsa',
      'ensureManagedIdentity',
      'storeUserSecret',
      'confirmAksGmsa',
    );
    after('verifyChain', 'ensureCredentialSpec', 'grantKeyVaultAccess');
  });

  test('the approval signal ends the KDS wait before the key is usable', async () => {
    const usableAt = new Date(Date.now() + 10 * 3600_000).toISOString();
    const { activities, calls } = activityDoubles({
      ensureKdsRootKey: async () => ({ keyId: 'new-key', usableAt, created: true }),
    });
    await withWorker(activities, async (q) => {
      const handle = await start(q);
      const waiting = await waitForProgress(
        handle,
        (p) => step(p, 'awaitAdApproval').status === 'waiting',
        'the KDS wait',
      );
      assert.equal(step(waiting, 'awaitAdApproval').waitUntil, usableAt);
      assert.ok(!calls.some((c) => c.name === 'ensureDomainUser'), 'no AD user before approval');
      await handle.signal(approveAdStepSignal, { by: 'ad-operator', comment: 'replicated' });
      await handle.result();
      const done = await handle.query(progressQuery);
      assert.equal(done.approval?.by, 'ad-operator');
      assert.equal(step(done, 'awaitAdApproval').summary, 'approved by ad-operator');
      assert.ok(call(calls, 'ensureDomainUser').startedAt >= Date.parse(done.approval!.at) - 1000);
    });
  });

  test('requireAdApproval waits for the signal even when the key is usable', async () => {
    const { activities, calls } = activityDoubles();
    await withWorker(activities, async (q) => {
      const handle = await start(q, exampleRequest({ spec: uniqueSpec(), options: { requireAdApproval: true } }));
      await waitForProgress(handle, (p) => step(p, 'awaitAdApproval').status === 'waiting', 'the approval wait');
      await delay(300);
      assert.ok(!calls.some((c) => c.name === 'ensureDomainUser'), 'the AD step waits for approval');
      await handle.signal(approveAdStepSignal, { by: 'ops' });
      await handle.result();
    });
  });

  test('a transient failure is retried and the step then succeeds; progress shows the attempts and the error', async () => {
    let n = 0;
    const { activities, calls } = activityDoubles({
      getDomainFacts: async () => {
        if (++n === 1) throw transient('LDAP server busy');
        return DOUBLE_RESULTS.getDomainFacts;
      },
    });
    await withWorker(activities, async (q) => {
      const handle = await start(q);
      await handle.result();
      const s = step(await handle.query(progressQuery), 'getDomainFacts');
      assert.equal(s.status, 'succeeded');
      assert.equal(s.attempts, 2);
      assert.equal(s.lastError?.message, 'LDAP server busy');
      assert.equal(s.lastError?.retryable, true);
      assert.equal(calls.filter((c) => c.name === 'getDomainFacts').length, 2);
    });
  });

  test("a server's Retry-After sets the delay before the next attempt", async () => {
    let first = 0;
    let second = 0;
    const { activities } = activityDoubles({
      ensureManagedIdentity: async () => {
        if (!first) {
          first = Date.now();
          throw transient('429 Too Many Requests', 2500);
        }
        second = Date.now();
        return DOUBLE_RESULTS.ensureManagedIdentity;
      },
    });
    await withWorker(activities, async (q) => (await start(q)).result());
    assert.ok(second - first >= 2500, `retried after ${second - first} ms, not before Retry-After`);
  });

  test('a non-retryable failure ends the workflow at once, with the message in progress', async () => {
    const message = 'no usable KDS root key: a new key is usable 10 hours after creation';
    let attempts = 0;
    const { activities, calls } = activityDoubles({
      ensureGmsa: async () => {
        attempts++;
        throw fatal('PreconditionFailed', message);
      },
    });
    await withWorker(activities, async (q) => {
      const handle = await start(q);
      const err = await handle.result().catch((e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String((err.cause as ApplicationFailure).message), /ensureGmsa failed: no usable KDS root key/);
      const p = await handle.query(progressQuery);
      assert.equal(step(p, 'ensureGmsa').status, 'failed');
      assert.equal(step(p, 'ensureGmsa').lastError?.message, message);
      assert.equal(step(p, 'ensureGmsa').lastError?.type, 'PreconditionFailed');
      assert.equal(step(p, 'ensureCredentialSpec').status, 'skipped');
      assert.equal(step(p, 'verifyChain').status, 'skipped');
      assert.match(p.phase, /^failed: ensureGmsa failed/);
      assert.equal(attempts, 1, 'not retried');
      assert.ok(!calls.some((c) => c.name === 'ensureCredentialSpec'));
      assert.ok(
        !calls.some((c) => c.name.startsWith('remove') || c.name.startsWith('delete')),
        'no rollback unless asked',
      );
      assert.equal(p.rollback, undefined);
    });
  });

  test('an unconfigured outside system fails its steps with "not configured"', async () => {
    const { activities } = activityDoubles();
    const partial = createActivities({ ...activities, getDomainFacts: undefined } as Partial<GmsaActivities>);
    await withWorker(partial, async (q) => {
      const handle = await start(q);
      await assert.rejects(handle.result(), WorkflowFailedError);
      const s = step(await handle.query(progressQuery), 'getDomainFacts');
      assert.equal(s.status, 'failed');
      assert.match(s.lastError!.message, /^not configured: Active Directory \(AD_URL/);
      assert.equal(s.attempts, 1);
    });
  });

  test('cancellation stops running steps and skips the rest', async () => {
    let cancelled = false;
    const { activities } = activityDoubles({
      getDomainFacts: async () => {
        // A long LDAP call: heartbeats so it learns of the cancellation.
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          try {
            await Promise.race([delay(100), ctx.cancelled]);
          } catch (err) {
            if (err instanceof CancelledFailure) cancelled = true;
            throw err;
          }
        }
      },
    });
    await withWorker(activities, async (q) => {
      const handle = await start(q);
      await waitForProgress(handle, (p) => step(p, 'getDomainFacts').status === 'running', 'getDomainFacts to run');
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      assert.ok(
        err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure,
        'the workflow ends cancelled',
      );
      const p = await handle.query(progressQuery);
      assert.equal(p.phase, 'cancelled');
      assert.equal(step(p, 'getDomainFacts').status, 'failed');
      assert.equal(step(p, 'ensureCredentialSpec').status, 'skipped');
      const { status } = await handle.describe();
      assert.equal(status.name, 'CANCELLED');
    });
    assert.ok(cancelled, 'the running activity was told to stop');
  });

  test('rollbackOnFailure removes what this run created, newest first, when a step fails', async () => {
    const { activities, calls } = activityDoubles({
      verifyChain: async () => {
        throw fatal('PreconditionFailed', 'chain broken at "RBAC"');
      },
    });
    await withWorker(activities, async (q) => {
      const request = exampleRequest({ spec: uniqueSpec('rb'), options: { rollbackOnFailure: true } });
      const handle = await start(q, request);
      await assert.rejects(handle.result(), WorkflowFailedError);
      const removals = calls.filter((c) => /^(remove|delete)/.test(c.name));
      assert.deepEqual(
        removals.map((c) => c.name),
        [
          'removeCredentialSpec',
          'removeGmsa',
          'removeDomainUser',
          'removeScaleSetIdentity',
          'deleteKeyVault',
          'deleteManagedIdentity',
        ],
      );
      const input = (name: string) => removals.find((c) => c.name === name)!.input as Record<string, unknown>;
      assert.equal(input('removeGmsa').name, 'webapp01');
      assert.equal(input('removeScaleSetIdentity').identityId, DOUBLE_RESULTS.ensureManagedIdentity.id);
      assert.equal(input('removeScaleSetIdentity').nodeResourceGroup, DOUBLE_RESULTS.confirmAksGmsa.nodeResourceGroup);
      assert.equal(input('deleteKeyVault').purge, true, 'purged, so a rerun can take the name again');
      const p = await handle.query(progressQuery);
      assert.equal(p.rollback?.status, 'done');
      assert.equal(p.rollback?.removed.length, 6);
      assert.deepEqual(p.rollback?.failed, []);
    });
  });

  test('rollback after a cancellation removes only what existed by then, and keeps what was there before', async () => {
    const { activities, calls } = activityDoubles({
      // The vault was there before this run: it must survive the rollback.
      ensureKeyVault: async () => ({ ...DOUBLE_RESULTS.ensureKeyVault, created: false }),
      deleteManagedIdentity: async () => {
        throw fatal('Forbidden', 'the worker may not delete identities');
      },
    });
    await withWorker(activities, async (q) => {
      const request = exampleRequest({
        spec: uniqueSpec('rbc'),
        options: { rollbackOnFailure: true, requireAdApproval: true },
      });
      const handle = await start(q, request);
      await waitForProgress(
        handle,
        (p) => step(p, 'awaitAdApproval').status === 'waiting' && step(p, 'grantKeyVaultAccess').status === 'succeeded',
        'the approval wait',
      );
      await handle.cancel();
      await assert.rejects(handle.result(), WorkflowFailedError);
      const removals = calls.filter((c) => /^(remove|delete)/.test(c.name)).map((c) => c.name);
      assert.deepEqual(removals, ['removeScaleSetIdentity', 'deleteManagedIdentity']);
      const p = await handle.query(progressQuery);
      assert.equal(p.rollback?.status, 'failed');
      assert.deepEqual(p.rollback?.removed, [`identity on ${DOUBLE_RESULTS.grantKeyVaultAccess.scaleSetsUpdated[0]}`]);
      assert.match(p.rollback!.failed[0]!, /^managed identity mi-gmsa-01: the worker may not delete identities/);
    });
  });

  test('hostIdentity kubeletIdentity skips the managed identity and uses the kubelet identity', async () => {
    const { activities, calls } = activityDoubles({
      grantKeyVaultAccess: async () => ({
        principalId: 'kubelet-object-id',
        scaleSetsUpdated: [],
        access: 'accessPolicy' as const,
      }),
    });
    await withWorker(activities, async (q) => {
      const handle = await start(
        q,
        exampleRequest({ spec: uniqueSpec(), options: { hostIdentity: 'kubeletIdentity' } }),
      );
      const out = await handle.result();
      assert.equal(out.managedIdentityId, undefined);
      const p = await handle.query(progressQuery);
      assert.equal(step(p, 'ensureManagedIdentity').status, 'skipped');
      assert.ok(!calls.some((c) => c.name === 'ensureManagedIdentity'));
      const spec = call(calls, 'ensureCredentialSpec').input as { hostAccount: { principalId: string } };
      assert.equal(spec.hostAccount.principalId, 'kubelet-object-id');
    });
  });
});
