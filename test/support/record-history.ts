/**
 * Records the committed replay fixtures of today's provisioning (the step graph with ownership, scale-set
 * coordination, the operations' Schedules and what the Temporal UI shows: patches `step-graph-server-retries`,
 * `shared-world-ownership`, `fleet-coordination`, `day-two-schedules`, `phase-search-attribute`,
 * `approval-wait-timers` and `final-progress-memo`) on a real dev server with activity doubles: a happy path; retries (a
 * step failing transiently twice, then succeeding); the approval (requireAdApproval and the signed update, after a
 * bare signal that must change nothing); a failure with rollback by ownership; a cancellation while an attempt runs
 * (awaited, then rolled back); and a run caught mid-retry (still running, a step on its 2nd attempt); and the
 * coordinator of one scale set taking three bindings' identities (written only when its file is missing: the
 * coordinator has not changed since it was recorded). Rerun only on purpose, together with a patch for the change
 * that makes a new recording necessary; the runs in the old fixtures must still replay.
 *
 * Not recorded here, as today's code cannot produce them again: provision-retry-approval.json (the retry loop,
 * legacy/provision-v1.ts), provision-v2-*.json (the graph before ownership, legacy/provision-v2.ts),
 * provision-v3-*.json (before coordination: grantKeyVaultAccess attached the identity itself),
 * provision-v4-*.json (before the Schedules: no scheduleOperations step) and provision-v5-*.json (before the phase
 * search attribute, the approval's timers and the final progress in the memo).
 *
 *   npx tsx test/support/record-history.ts            a throwaway dev server of its own
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 npx tsx test/support/record-history.ts
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { fatal, transient } from '../../contract/errors.js';
import { PROJECT_ROOT } from '../../lab/paths.js';
import { freePort } from '../../lab/process.js';
import { temporalLab } from '../../lab/temporal.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { approveAdStepSignal, approveAdStepUpdate, progressQuery } from '../../workflows/definitions.js';
import { scaleSetCoordinatorId } from '../../contract/coordination.js';
import { activityDoubles, doubleResult, type Overrides } from '../../lab/activity-doubles.js';
import { deferred, pollUntil, within } from './poll.js';
import { exampleRequest } from './requests.js';
import { devServerEnv, uniqueQueue, workflowBundle } from './temporal.js';

export const HISTORIES = new URL('../fixtures/histories/', import.meta.url);

/** The fixtures this script writes, by file name. */
export const RECORDED = {
  happy: 'provision-v6-happy.json',
  retries: 'provision-v6-retries.json',
  approval: 'provision-v6-approval.json',
  rollback: 'provision-v6-rollback.json',
  cancel: 'provision-v6-cancel.json',
  midRetry: 'provision-v6-mid-retry.json',
  coordinator: 'scale-set-identities-batch.json',
} as const;
/** What the server said of the retrying step when the mid-retry history was taken (not part of the history). */
export const MID_RETRY_PENDING = 'provision-v6-mid-retry.pending.json';

async function main(): Promise<void> {
  let stop: (() => Promise<void>) | undefined;
  let dir: string | undefined;
  if (!process.env.TEMPORAL_ADDRESS) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'aks-gmsa-record-'));
    const temporal = temporalLab({ port: await freePort(), headless: true, dir, dbFile: path.join(dir, 'db.sqlite') });
    Object.assign(process.env, await temporal.start());
    stop = () => temporal.stop();
  }
  const env = await devServerEnv();
  const write = async (file: string, handle: WorkflowHandle) => {
    // Stack traces name the checkout's folder; a fixture names a neutral one instead.
    const json = historyToJSON(await handle.fetchHistory()).replaceAll(`${PROJECT_ROOT}/`, '/app/');
    writeFileSync(new URL(file, HISTORIES), `${json}\n`);
    console.log(`wrote ${file}`);
  };
  /** One provisioning on a worker of its own; `body` drives it and returns once the history is complete. */
  const record = async (
    file: string,
    overrides: Overrides,
    options: Partial<ProvisionRequest['options']>,
    body: (handle: WorkflowHandle) => Promise<void>,
    { writeWhenDone = true } = {},
  ) => {
    const taskQueue = uniqueQueue('record');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: activityDoubles(overrides).activities,
    });
    const request = exampleRequest({ spec: file.replace(/\.json$/, ''), options });
    const handle = await env.client.workflow.start('provisionGmsa', {
      taskQueue,
      workflowId: `record-${request.gmsa.credentialSpecName}-${Date.now()}`,
      args: [request],
    });
    await worker.runUntil(() => body(handle));
    if (writeWhenDone) await write(file, handle);
  };
  const completes = async (h: WorkflowHandle) => {
    await h.result();
  };

  try {
    await record(RECORDED.happy, {}, {}, completes);

    // Three bindings on one cluster, each its own identity: the coordinator's history holds their batch (or two).
    {
      const taskQueue = uniqueQueue('record');
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities: activityDoubles().activities,
      });
      const requests = [1, 2, 3].map((i) => {
        const r = exampleRequest({ spec: `coordinated-${i}` });
        r.azure.managedIdentity = { name: `mi-coordinated-${i}` };
        return r;
      });
      await worker.runUntil(async () => {
        const handles = await Promise.all(
          requests.map((r) =>
            env.client.workflow.start('provisionGmsa', {
              taskQueue,
              workflowId: `record-${r.gmsa.credentialSpecName}-${Date.now()}`,
              args: [r],
            }),
          ),
        );
        await Promise.all(handles.map((h) => h.result()));
        const { cluster } = requests[0]!;
        const target = {
          subscriptionId: cluster.subscriptionId,
          nodeResourceGroup: doubleResult('confirmAksGmsa', { cluster, domainFqdn: '', enable: true })
            .nodeResourceGroup,
          pool: cluster.windowsNodePools[0]!,
        };
        const coordinator = env.client.workflow.getHandle(scaleSetCoordinatorId(target, taskQueue));
        if (!existsSync(new URL(RECORDED.coordinator, HISTORIES))) await write(RECORDED.coordinator, coordinator);
        await coordinator.terminate('recorded');
      });
    }

    await record(
      RECORDED.retries,
      {
        getDomainFacts: async (input) => {
          if (Context.current().info.attempt <= 2) throw transient('LDAP server busy');
          return doubleResult('getDomainFacts', input);
        },
      },
      {},
      completes,
    );

    await record(RECORDED.approval, {}, { requireAdApproval: true }, async (h) => {
      await pollUntil(
        'the approval wait',
        async () =>
          (await h.query(progressQuery)).steps.find((s) => s.name === 'awaitAdApproval')?.status === 'waiting',
      );
      await h.signal(approveAdStepSignal, { by: 'mallory' });
      await h.executeUpdate(approveAdStepUpdate, {
        args: [
          { by: 'recorder', comment: 'change CHG-1234', at: new Date().toISOString(), proof: 'signed-by-the-api' },
        ],
      });
      await h.result();
    });

    await record(
      RECORDED.rollback,
      {
        verifyChain: async () => {
          throw fatal('PreconditionFailed', 'chain broken at "RBAC"');
        },
      },
      { rollbackOnFailure: true },
      async (h) => {
        await h.result().catch(() => undefined);
      },
    );

    // Cancelled while the vault create runs: the workflow waits for that attempt, then rolls back.
    const creating = deferred();
    const created = deferred();
    await record(
      RECORDED.cancel,
      {
        ensureKeyVault: async (input) => {
          creating.resolve();
          await within(created.promise, 'the recorder to cancel the run', 60_000);
          return doubleResult('ensureKeyVault', input);
        },
      },
      { rollbackOnFailure: true },
      async (h) => {
        await within(creating.promise, 'the vault create to start');
        await h.cancel();
        await pollUntil('the cancel request to reach the attempt', async () => {
          const d = await h.describe();
          // 3: PENDING_ACTIVITY_STATE_CANCEL_REQUESTED.
          return (d.raw.pendingActivities ?? []).some((a) => Number(a.state) === 3) || undefined;
        });
        created.resolve();
        await h.result().catch(() => undefined);
      },
    );

    // Mid-retry: attempt 1 failed, attempt 2 is held running while the history is taken; then the run is ended.
    const second = deferred();
    const release = deferred();
    try {
      await record(
        RECORDED.midRetry,
        {
          getDomainFacts: async (input) => {
            if (Context.current().info.attempt === 1) throw transient('LDAP server busy');
            second.resolve();
            await within(release.promise, 'the recorder to take the history', 60_000);
            return doubleResult('getDomainFacts', input);
          },
        },
        {},
        async (h) => {
          await within(second.promise, 'attempt 2 of getDomainFacts');
          // Idle apart from the held attempt: every step that does not need getDomainFacts has finished.
          const pending = await pollUntil('only getDomainFacts pending, no workflow task', async () => {
            const d = await h.describe();
            const acts = d.raw.pendingActivities ?? [];
            return acts.length === 1 && acts[0]!.activityId === 'getDomainFacts' && !d.raw.pendingWorkflowTask
              ? acts[0]
              : undefined;
          });
          writeFileSync(
            new URL(MID_RETRY_PENDING, HISTORIES),
            `${JSON.stringify(
              {
                activityId: pending.activityId,
                state: pending.state,
                attempt: pending.attempt,
                maximumAttempts: pending.maximumAttempts,
                lastFailure: pending.lastFailure?.message,
              },
              null,
              2,
            )}\n`,
          );
          await write(RECORDED.midRetry, h);
          release.resolve();
          await h.terminate('recorded mid-retry');
        },
        { writeWhenDone: false },
      );
    } finally {
      release.resolve();
    }
  } finally {
    await env.teardown();
    await stop?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

// Records only when run as a script; tests import the fixture names.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
