/**
 * provisionGmsa's logic on the real Temporal dev server, with activity doubles: the dependency graph, the KDS
 * approval, the server's retries (and Retry-After), non-retryable failures, "not configured", cancellation, rollback
 * and what `progress` tells.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { fatal, transient } from '../../contract/errors.js';
import { createActivities } from '../../activities/index.js';
import type { ActivityName, GmsaActivities } from '../../contract/activities.js';
import {
  approveAdStepSignal,
  approveAdStepUpdate,
  progressQuery,
  type Progress,
  type StepName,
} from '../../workflows/definitions.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { APPROVAL_TIMER_MS } from '../../workflows/steps.js';
import { quick } from '../../workflows/step-policies.js';
import { activityDoubles, doubleResult, type CallRecord, type Overrides } from '../../lab/activity-doubles.js';
import { Barrier, deferred, pollUntil, within } from '../support/poll.js';
import { uniqueRequest } from '../support/requests.js';
import { activitiesIn, devServerEnv, historyOf, withWorker as withWorkerOn } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

/** Runs `body` with a worker over `activities` on a queue of its own. */
const withWorker = <T>(activities: GmsaActivities, body: (taskQueue: string) => Promise<T>) =>
  withWorkerOn(env, activities, body);

function start(taskQueue: string, request: ProvisionRequest = uniqueRequest('wf')) {
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
  let last: Progress | undefined;
  return pollUntil(
    what,
    async () => {
      last = await handle.query(progressQuery);
      return ok(last) && last;
    },
    { last: () => JSON.stringify(last?.steps.map((s) => [s.name, s.status])) },
  );
}

const output = <T>(calls: CallRecord[], name: StepName) => call(calls, name).output as T;

describe('provisionGmsa', () => {
  test("happy path: every step succeeds and the outputs name what this request's steps created", async () => {
    const { activities, calls } = activityDoubles();
    const request = uniqueRequest('hp');
    await withWorker(activities, async (q) => {
      const handle = await start(q, request);
      const outputs = await handle.result();
      // The doubles echo their input: each value here comes from this request, carried by the workflow.
      const { subscriptionId: sub, resourceGroup: rg, name: cluster } = request.cluster;
      const kv = request.azure.keyVault;
      const mi = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${request.azure.managedIdentity.name}`;
      assert.deepEqual(outputs, {
        clusterId: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${cluster}`,
        managedIdentityId: mi,
        keyVaultId: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${kv.name}`,
        secretUri: `https://${kv.name}.vault.azure.net/secrets/${kv.secretName}`,
        domainUserDn: `CN=${request.gmsa.standardUser},CN=Users,DC=contoso,DC=com`,
        gmsaDn: `CN=${request.gmsa.name},CN=Managed Service Accounts,DC=contoso,DC=com`,
        credentialSpecName: request.gmsa.credentialSpecName,
        hostPrincipalId: output<{ principalId: string }>(calls, 'ensureManagedIdentity').principalId,
        kdsRootKeyId: output<{ keyId: string }>(calls, 'ensureKdsRootKey').keyId,
      });
      const progress = await handle.query(progressQuery);
      assert.equal(progress.phase, 'completed');
      for (const s of progress.steps) {
        assert.equal(s.status, 'succeeded', `${s.name} is ${s.status}`);
        assert.ok(s.startedAt && s.endedAt, `${s.name} has times`);
      }
      assert.equal(step(progress, 'awaitAdApproval').summary, 'KDS root key already usable');
      // Each step's activity once, plus the identity's trip through its scale set's coordinator (queue, write).
      assert.deepEqual(
        calls.map((c) => c.name).filter((n) => n === 'queueScaleSetChange' || n === 'applyScaleSetChanges'),
        ['queueScaleSetChange', 'applyScaleSetChanges'],
      );
      assert.equal(calls.length, 13 + 2, 'each activity once');
      // One activity per step, its activityId the step name: what the API joins the pending activities by. The
      // queueing activity belongs to the attachIdentity step, a workflow step that waits for the coordinator;
      // ensureOperationSchedules is the scheduleOperations step's.
      const stepOf: Record<string, string> = { ensureOperationSchedules: 'scheduleOperations' };
      for (const e of await historyOf(handle)) {
        const a = e.activityTaskScheduledEventAttributes;
        const type = a?.activityType?.name ?? '';
        if (a && type !== 'queueScaleSetChange') assert.equal(a.activityId, stepOf[type] ?? type);
      }
      // The Schedules, last, for this binding: repair every 6h by default, no rotation unless asked.
      assert.equal(calls.at(-1)!.name, 'ensureOperationSchedules');
      assert.deepEqual(calls.find((c) => c.name === 'ensureOperationSchedules')?.input, {
        bindingId: handle.workflowId,
        repairEvery: '6h',
        cluster: request.cluster.name,
        credentialSpec: request.gmsa.credentialSpecName,
      });
      // What flows between steps: the user's SID into the gMSA, the identity's principal into the spec.
      assert.deepEqual((call(calls, 'ensureGmsa').input as { allowedPrincipalSids: string[] }).allowedPrincipalSids, [
        output<{ sid: string }>(calls, 'ensureDomainUser').sid,
      ]);
      const spec = call(calls, 'ensureCredentialSpec').input as {
        specName: string;
        gmsaName: string;
        hostAccount: { principalId: string; secretUri: string };
      };
      assert.deepEqual(spec.hostAccount, {
        principalId: output<{ principalId: string }>(calls, 'ensureManagedIdentity').principalId,
        secretUri: output<{ secretUri: string }>(calls, 'storeUserSecret').secretUri,
      });
      assert.equal(spec.specName, request.gmsa.credentialSpecName);
      assert.equal(spec.gmsaName, request.gmsa.name);
    });
  });

  test('independent steps overlap and dependent ones wait for what they need', async () => {
    const independent: ActivityName[] = [
      'confirmAksGmsa',
      'ensureManagedIdentity',
      'ensureKeyVault',
      'getDomainFacts',
      'ensureKdsRootKey',
    ];
    // Each of the five waits until all five have started: the run can only finish if they ran at the same time.
    const barrier = new Barrier(independent.length);
    const overrides: Overrides = {};
    for (const name of independent) {
      (overrides as Record<string, (input: never) => Promise<unknown>>)[name] = async (input: never) => {
        try {
          await barrier.arrive(name);
        } catch (err) {
          throw fatal('PreconditionFailed', (err as Error).message); // ends the run at once instead of retrying
        }
        return doubleResult(name, input);
      };
    }
    const { activities } = activityDoubles(overrides);
    let history: Awaited<ReturnType<typeof historyOf>> = [];
    try {
      await withWorker(activities, async (q) => {
        const handle = await start(q);
        await handle.result();
        history = await historyOf(handle);
      });
    } finally {
      barrier.dispose();
    }
    assert.deepEqual([...barrier.names].sort(), [...independent].sort(), 'all five were running at once');

    // Order from the server's history: a dependent step is scheduled only after what it needs completed.
    const acts = activitiesIn(history);
    const ev = (name: StepName) => {
      const a = acts.find((x) => x.name === name);
      assert.ok(a?.closed && a.outcome === 'completed', `${name} completed`);
      return a;
    };
    const after = (later: StepName, ...before: StepName[]) => {
      for (const b of before)
        assert.ok(ev(later).scheduled > ev(b).closed!, `${later} is scheduled after ${b} completed`);
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

  test('only an approval the worker verifies counts: a bare signal and a refused proof leave the run waiting', async () => {
    const proofs: string[] = [];
    const { activities, calls } = activityDoubles({
      verifyApproval: async ({ approval }) => {
        proofs.push(approval.proof);
        return approval.proof === 'the-api-signed-this' ? { valid: true } : { valid: false, reason: 'wrong key' };
      },
    });
    await withWorker(activities, async (q) => {
      const handle = await start(q, uniqueRequest('ap', { options: { requireAdApproval: true } }));
      await waitForProgress(handle, (p) => step(p, 'awaitAdApproval').status === 'waiting', 'the approval wait');
      await handle.signal(approveAdStepSignal, { by: 'mallory' });
      await assert.rejects(
        handle.executeUpdate(approveAdStepUpdate, {
          args: [{ by: 'mallory', at: new Date().toISOString(), proof: 'forged' }],
        }),
        (err: Error) =>
          /approval refused: wrong key/.test(String((err.cause as Error | undefined)?.message ?? err.message)),
      );
      await assert.rejects(
        handle.executeUpdate(approveAdStepUpdate, { args: [{ by: 'mallory' } as never] }),
        (err: Error) => /carries by, at and the proof/.test(String((err.cause as Error | undefined)?.message)),
        'the validator refuses an approval without a proof before anything is recorded',
      );
      // Both refusals are in the history now; the run must still be waiting, with no approval and no AD step.
      const still = await handle.query(progressQuery);
      assert.equal(still.approval, undefined);
      assert.equal(step(still, 'awaitAdApproval').status, 'waiting');
      assert.ok(!calls.some((c) => c.name === 'ensureDomainUser'), 'no AD step after a refused approval');
      const approved = await handle.executeUpdate(approveAdStepUpdate, {
        args: [
          { by: 'ad-operator', comment: 'replicated', at: new Date().toISOString(), proof: 'the-api-signed-this' },
        ],
      });
      assert.equal(approved.by, 'ad-operator');
      await handle.result();
      const done = await handle.query(progressQuery);
      assert.equal(done.approval?.by, 'ad-operator');
      assert.match(step(done, 'awaitAdApproval').summary!, /^approved by ad-operator/);
      assert.deepEqual(proofs, ['forged', 'the-api-signed-this'], 'the worker checked each shaped approval');
      const history = await historyOf(handle);
      const accepted = history.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes);
      const user = activitiesIn(history).find((a) => a.name === 'ensureDomainUser');
      assert.ok(user && accepted.length, 'the history holds the update and the AD step');
      assert.ok(
        user.scheduled > Number(accepted.at(-1)!.eventId),
        'the AD step was scheduled only after the verified approval',
      );
    });
  });

  test('requireAdApproval waits for the approval even when the key is usable', async () => {
    const { activities, calls } = activityDoubles();
    await withWorker(activities, async (q) => {
      const handle = await start(q, uniqueRequest('ra', { options: { requireAdApproval: true } }));
      // Wait until the workflow has done all it can without the signal: every step that does not need the
      // approval succeeded, nothing runs, no workflow task is pending. From there only an outside event (a signal,
      // a timer) could move it, so if the AD step is not scheduled now it is not scheduled before the approval.
      const independentOfApproval: StepName[] = [
        'confirmAksGmsa',
        'ensureManagedIdentity',
        'ensureKeyVault',
        'findDomainUser',
        'storeUserSecret',
        'getDomainFacts',
        'ensureKdsRootKey',
        'grantKeyVaultAccess',
      ];
      await waitForProgress(
        handle,
        (p) =>
          step(p, 'awaitAdApproval').status === 'waiting' &&
          step(p, 'attachIdentity').status === 'succeeded' &&
          independentOfApproval.every((n) => step(p, n).status === 'succeeded'),
        'the approval wait with every other possible step done',
      );
      // attachIdentity is a workflow step: its one activity queues the identity at the scale set's coordinator.
      independentOfApproval.push('queueScaleSetChange' as StepName);
      const history = await pollUntil('the workflow to be idle', async () => {
        const [d, h] = [await handle.describe(), await historyOf(handle)];
        const idle =
          !d.raw.pendingActivities?.length &&
          !d.raw.pendingWorkflowTask &&
          h.at(-1)?.workflowTaskCompletedEventAttributes;
        return idle ? h : undefined;
      });
      assert.deepEqual(
        activitiesIn(history)
          .map((a) => a.name)
          .sort(),
        [...independentOfApproval].sort(),
        'only the steps that need no approval were scheduled',
      );
      // The one timer is the approval wait's, shown in the UI; it is renewed, never ends the wait (kds-wait.test.ts).
      const timers = history.filter((e) => e.timerStartedEventAttributes);
      assert.deepEqual(
        timers.map((t) => Number(t.timerStartedEventAttributes!.startToFireTimeout?.seconds) * 1000),
        [APPROVAL_TIMER_MS],
        'only the approval wait’s daily timer',
      );
      assert.ok(!calls.some((c) => c.name === 'ensureDomainUser'), 'the AD step waits for approval');
      await handle.executeUpdate(approveAdStepUpdate, {
        args: [{ by: 'ops', at: new Date().toISOString(), proof: 'p' }],
      });
      await handle.result();
      assert.equal(calls.filter((c) => c.name === 'ensureDomainUser').length, 1, 'the approval let it run');
    });
  });

  test('a transient failure is retried by the server: one activity, attempt 2 succeeds; describe() shows the retry', async () => {
    // Attempt 1 fails; attempt 2 holds until the test has looked at the retry, so the look cannot miss it.
    const second = deferred();
    const release = deferred();
    const { activities, calls } = activityDoubles({
      getDomainFacts: async (input) => {
        if (Context.current().info.attempt === 1) throw transient('LDAP server busy');
        second.resolve();
        await within(release.promise, 'the test to release attempt 2');
        return doubleResult('getDomainFacts', input);
      },
    });
    try {
      await withWorker(activities, async (q) => {
        const handle = await start(q);
        await within(second.promise, 'attempt 2 of getDomainFacts');
        // While retrying: the server's pending activity (joined by activityId = step name) has the attempt and
        // the last failure; the workflow, which no longer runs the loop, shows the step running.
        const pending = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityId === 'getDomainFacts');
        assert.equal(pending?.attempt, 2);
        assert.equal(pending?.lastFailure?.message, 'LDAP server busy');
        assert.equal(pending?.maximumAttempts, quick.maxAttempts, "the policy table's maxAttempts, on the server");
        assert.equal(step(await handle.query(progressQuery), 'getDomainFacts').status, 'running');
        release.resolve();
        await handle.result();

        const history = await historyOf(handle);
        const facts = activitiesIn(history).filter((a) => a.name === 'getDomainFacts');
        assert.equal(facts.length, 1, 'one activity, retried by the server');
        assert.equal(facts[0]!.outcome, 'completed');
        const started = history.find(
          (e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === facts[0]!.scheduled,
        )?.activityTaskStartedEventAttributes;
        assert.equal(started?.attempt, 2, 'the attempt that completed was the second');
        assert.equal(started?.lastFailure?.message, 'LDAP server busy');
        assert.ok(!history.some((e) => e.timerStartedEventAttributes), 'no retry timer in the workflow');
        assert.equal(step(await handle.query(progressQuery), 'getDomainFacts').status, 'succeeded');
        assert.equal(calls.filter((c) => c.name === 'getDomainFacts').length, 2);
      });
    } finally {
      release.resolve();
    }
  });

  test("a server's Retry-After sets the delay before the next attempt", async () => {
    const second = deferred();
    const release = deferred();
    const { activities } = activityDoubles({
      ensureManagedIdentity: async (input) => {
        if (Context.current().info.attempt === 1) throw transient('429 Too Many Requests', 2500);
        second.resolve();
        await within(release.promise, 'the test to release attempt 2');
        return doubleResult('ensureManagedIdentity', input);
      },
    });
    try {
      const history = await withWorker(activities, async (q) => {
        const handle = await start(q);
        await within(second.promise, 'attempt 2 of ensureManagedIdentity');
        const pending = (await handle.describe()).raw.pendingActivities?.find(
          (a) => a.activityId === 'ensureManagedIdentity',
        );
        // The server scheduled attempt 2 exactly Retry-After after attempt 1 failed (its backoff would say 1 s).
        const ms = (t?: { seconds?: unknown; nanos?: number | null } | null) =>
          Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6);
        assert.equal(pending?.attempt, 2);
        assert.ok(pending?.lastAttemptCompleteTime && pending.scheduledTime, 'the pending activity has both times');
        assert.equal(ms(pending.scheduledTime) - ms(pending.lastAttemptCompleteTime), 2500);
        assert.equal(ms(pending.lastFailure?.applicationFailureInfo?.nextRetryDelay), 2500);
        release.resolve();
        await handle.result();
        return historyOf(handle);
      });
      assert.ok(!history.some((e) => e.timerStartedEventAttributes), 'the server waited, not a workflow timer');
      assert.equal(activitiesIn(history).filter((a) => a.name === 'ensureManagedIdentity').length, 1);
    } finally {
      release.resolve();
    }
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
      const history = await historyOf(handle);
      const gmsa = activitiesIn(history).filter((a) => a.name === 'ensureGmsa');
      assert.equal(gmsa.length, 1);
      assert.equal(gmsa[0]!.outcome, 'failed');
      const started = history.find(
        (e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === gmsa[0]!.scheduled,
      );
      assert.equal(started?.activityTaskStartedEventAttributes?.attempt, 1, 'the server ran one attempt');
      assert.equal(step(p, 'ensureGmsa').lastError?.retryable, false);
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
        // A long LDAP call: heartbeats so it learns of the cancellation (and gives up after a minute regardless).
        const ctx = Context.current();
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          ctx.heartbeat();
          try {
            await Promise.race([delay(100), ctx.cancelled]);
          } catch (err) {
            if (err instanceof CancelledFailure) cancelled = true;
            throw err;
          }
        }
        throw fatal('PreconditionFailed', 'never told to stop');
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
      const request = uniqueRequest('rb', { options: { rollbackOnFailure: true } });
      const handle = await start(q, request);
      await assert.rejects(handle.result(), WorkflowFailedError);
      const detach = (c: CallRecord) =>
        c.name === 'applyScaleSetChanges' &&
        (c.input as { changes: { op: string }[] }).changes.some((x) => x.op === 'detach');
      const removals = calls
        .filter((c) => /^(remove|delete|revoke)/.test(c.name) || detach(c))
        .map((c) => (detach(c) ? { ...c, name: 'detach (scale-set coordinator)' as never } : c));
      assert.deepEqual(
        removals.map((c) => c.name),
        // Reverse of the graph's order: each step is undone before the steps it needed.
        [
          'removeCredentialSpec',
          'revokeKeyVaultAccess',
          'detach (scale-set coordinator)',
          'removeGmsa',
          'removeDomainUser',
          'deleteUserSecret',
          'deleteKeyVault',
          'deleteManagedIdentity',
        ],
      );
      const input = (name: string) => removals.find((c) => c.name === name)!.input as Record<string, unknown>;
      // Every removal acts for this binding: the activity removes only what carries its marker.
      for (const r of removals) {
        const owner =
          (r.input as { owner?: unknown; changes?: { owner?: unknown }[] }).owner ??
          (r.input as { changes: { owner?: unknown }[] }).changes[0]!.owner;
        assert.deepEqual(owner, { binding: handle.workflowId, adopt: [] }, r.name);
      }
      // Each removal names this request's own objects.
      assert.equal(input('removeCredentialSpec').specName, request.gmsa.credentialSpecName);
      assert.equal(input('removeGmsa').name, request.gmsa.name);
      assert.equal(input('removeDomainUser').user, request.gmsa.standardUser);
      const detached = input('detach (scale-set coordinator)') as unknown as {
        target: { nodeResourceGroup: string };
        changes: { identityId: string }[];
      };
      assert.equal(detached.changes[0]!.identityId, output<{ id: string }>(calls, 'ensureManagedIdentity').id);
      assert.equal(
        detached.target.nodeResourceGroup,
        output<{ nodeResourceGroup: string }>(calls, 'confirmAksGmsa').nodeResourceGroup,
      );
      assert.equal(input('deleteKeyVault').name, request.azure.keyVault.name);
      assert.equal(input('deleteKeyVault').purge, true, 'purged, so a rerun can take the name again');
      assert.equal(input('deleteManagedIdentity').name, request.azure.managedIdentity.name);
      const p = await handle.query(progressQuery);
      assert.equal(p.rollback?.status, 'done');
      assert.equal(p.rollback?.removed.length, 8);
      assert.deepEqual(p.rollback?.failed, []);
    });
  });

  test('rollback after a cancellation undoes every step that started, and reports a removal that failed', async () => {
    const { activities, calls } = activityDoubles({
      deleteManagedIdentity: async () => {
        throw fatal('Forbidden', 'the worker may not delete identities');
      },
    });
    await withWorker(activities, async (q) => {
      const request = uniqueRequest('rbc', { options: { rollbackOnFailure: true, requireAdApproval: true } });
      const handle = await start(q, request);
      await waitForProgress(
        handle,
        (p) => step(p, 'awaitAdApproval').status === 'waiting' && step(p, 'grantKeyVaultAccess').status === 'succeeded',
        'the approval wait',
      );
      await handle.cancel();
      await assert.rejects(handle.result(), WorkflowFailedError);
      const removals = calls
        .filter(
          (c) =>
            /^(remove|delete|revoke)/.test(c.name) ||
            (c.name === 'applyScaleSetChanges' &&
              (c.input as { changes: { op: string }[] }).changes.some((x) => x.op === 'detach')),
        )
        .map((c) => (c.name === 'applyScaleSetChanges' ? 'detach (scale-set coordinator)' : c.name));
      // Nothing of the AD user, the gMSA or the spec: those steps never started.
      assert.deepEqual(removals, [
        'revokeKeyVaultAccess',
        'detach (scale-set coordinator)',
        'deleteUserSecret',
        'deleteKeyVault',
        'deleteManagedIdentity',
      ]);
      const p = await handle.query(progressQuery);
      assert.equal(p.rollback?.status, 'failed');
      assert.equal(p.rollback?.removed.length, 4);
      assert.ok(
        p.rollback!.failed[0]!.startsWith(
          `managed identity ${request.azure.managedIdentity.name}: the worker may not delete identities`,
        ),
        p.rollback!.failed[0],
      );
    });
  });

  test('a step that started but never reported is rolled back too: its removal decides by the marker', async () => {
    const { activities, calls } = activityDoubles({
      // As if the attempt created the gMSA and then failed before it could say so.
      ensureGmsa: async () => {
        throw fatal('PreconditionFailed', 'the reply was lost after the add');
      },
    });
    await withWorker(activities, async (q) => {
      const request = uniqueRequest('rbs', { options: { rollbackOnFailure: true } });
      const handle = await start(q, request);
      await assert.rejects(handle.result(), WorkflowFailedError);
      const removeGmsa = calls.find((c) => c.name === 'removeGmsa');
      assert.ok(removeGmsa, 'the gMSA step failed, yet its removal ran');
      assert.equal((removeGmsa.input as { name: string }).name, request.gmsa.name);
      assert.ok(!calls.some((c) => c.name === 'removeCredentialSpec'), 'the spec step never started');
    });
  });

  test('a cancelled run waits for a running attempt to end before it rolls back (WAIT_CANCELLATION_COMPLETED)', async () => {
    const started = deferred();
    const release = deferred();
    const { activities, calls } = activityDoubles({
      // Ignores the cancellation, as a write already on its way does: the workflow must wait for it.
      ensureKeyVault: async (input) => {
        started.resolve();
        await within(release.promise, 'the test to release the vault create');
        return doubleResult('ensureKeyVault', input);
      },
    });
    await withWorker(activities, async (q) => {
      const request = uniqueRequest('rbw', { options: { rollbackOnFailure: true } });
      const handle = await start(q, request);
      await within(started.promise, 'the vault create to start');
      await handle.cancel();
      // The workflow task that records the cancel request would also schedule the rollback's removals if it did not
      // wait for the attempt (TRY_CANCEL does not): once it has completed, the history says which it did.
      const history = await pollUntil('the cancel request to be recorded', async () => {
        const [d, h] = [await handle.describe(), await historyOf(handle)];
        const recorded = h.some((e) => e.activityTaskCancelRequestedEventAttributes);
        return recorded && !d.raw.pendingWorkflowTask ? h : undefined;
      });
      assert.ok(
        !activitiesIn(history).some((a) => /^(remove|delete|revoke)/.test(a.name)),
        'no removal is scheduled while the create runs',
      );
      release.resolve();
      await assert.rejects(handle.result(), WorkflowFailedError);
      const created = calls.find((c) => c.name === 'ensureKeyVault')!;
      const vaultRemoval = calls.find((c) => c.name === 'deleteKeyVault');
      assert.ok(vaultRemoval, 'the vault the attempt made is rolled back');
      assert.ok(vaultRemoval.startedAt >= created.endedAt, 'the removal started after the create had ended');
    });
  });

  test('hostIdentity kubeletIdentity skips the managed identity and uses the kubelet identity', async () => {
    const { activities, calls } = activityDoubles();
    await withWorker(activities, async (q) => {
      const handle = await start(q, uniqueRequest('kub', { options: { hostIdentity: 'kubeletIdentity' } }));
      const out = await handle.result();
      assert.equal(out.managedIdentityId, undefined);
      const p = await handle.query(progressQuery);
      assert.equal(step(p, 'ensureManagedIdentity').status, 'skipped');
      assert.ok(!calls.some((c) => c.name === 'ensureManagedIdentity'));
      const kubelet = output<{ kubeletIdentity: { objectId: string } }>(calls, 'confirmAksGmsa').kubeletIdentity;
      const grant = call(calls, 'grantKeyVaultAccess').input as { kubeletIdentity?: { objectId: string } };
      assert.equal(grant.kubeletIdentity?.objectId, kubelet.objectId, 'access is granted to the kubelet identity');
      const spec = call(calls, 'ensureCredentialSpec').input as { hostAccount: { principalId: string } };
      assert.equal(spec.hostAccount.principalId, kubelet.objectId);
      assert.equal(out.hostPrincipalId, kubelet.objectId);
    });
  });
});
