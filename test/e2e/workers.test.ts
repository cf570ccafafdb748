/**
 * Several workers on one task queue, and one that dies (issue 11; DESIGN "Many at once"): two worker processes
 * (worker/main.ts, as deployed) serve a few provisionings on one cluster of the ARM fake, with the real Samba DC and
 * kube-apiserver. One run's vault create is held in the fake, so its attempt is known to be running, on a worker
 * read from the server (the pending activity's last worker identity, the SDK's `<pid>@<host>`); that worker is
 * killed with SIGKILL. Every run must still complete, the held step on the other worker (attempt 2 or later), and
 * nothing may exist twice in Azure or AD. The time from the kill to the next attempt is printed, never asserted.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { temporal } from '@temporalio/proto';
import type { ProvisionRequest } from '../../domain/request.js';
import { mark, requestsSince, seedCluster, withOverride } from '../support/azure-lab.js';
import {
  labRequest,
  removeBinding,
  removeByName,
  runTag,
  startE2eLab,
  type E2eLab,
  type View,
  type WorkerProcess,
} from '../support/e2e-lab.js';
import { assertNothingTwice } from '../support/chaos.js';
import { pollUntil } from '../support/poll.js';
import { historyOf } from '../support/temporal.js';

/** temporal.api.enums.v1.PendingActivityState: the attempt is on a worker. */
const STARTED = 2;
const RUNS = 4;
const HELD_STEP = 'ensureKeyVault';

type Cluster = Awaited<ReturnType<typeof seedCluster>>;
type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;
const ms = (t: Timestamp) => Number(String(t?.seconds ?? 0)) * 1000 + Math.round((t?.nanos ?? 0) / 1e6);
const describeEnd = (v: View) =>
  `${v.status}: ${v.phase}; ${v.error ?? ''}; failed: ${JSON.stringify(v.steps.filter((s) => s.status === 'failed'))}`;
/** The worker an SDK identity names (`<pid>@<host>`, the default identity of a Temporal worker). */
const isWorker = (identity: string | null | undefined, w: WorkerProcess) => identity?.startsWith(`${w.pid}@`) ?? false;

let lab: E2eLab;
const workers: WorkerProcess[] = [];
const made: { request: ProvisionRequest; id: string; cluster: Cluster }[] = [];

before(async () => {
  lab = await startE2eLab({ prefix: 'e2e-workers', worker: 'none' });
});

after(async () => {
  try {
    for (const w of workers) await w.kill();
    // The product's own removals first (a failing one fails the suite), then by name: the DC and the API server
    // outlive the run. Nothing is left running to race them: both workers are gone by now.
    const failures: string[] = [];
    for (const m of made)
      failures.push(
        ...(await removeBinding(lab, m.request, m.id, m.cluster.nodeResourceGroup)).map((f) => `${m.id}: ${f}`),
      );
    for (const m of made) await removeByName(lab, m.request);
    if (failures.length) throw new Error(`removing what the test made failed:\n${failures.join('\n')}`);
  } finally {
    await lab?.close();
  }
});

type Pending = temporal.api.workflow.v1.IPendingActivityInfo;

/**
 * Polls the held step of run `id` until `accept` takes what the server says: its pending activity, or undefined once
 * it is no longer pending (it closed).
 */
async function watchStep<T>(id: string, what: string, accept: (p: Pending | undefined) => T | undefined) {
  let seen = 'nothing yet';
  return pollUntil(
    what,
    async () => {
      const d = await lab.client.workflow.getHandle(id).describe();
      const p = d.raw.pendingActivities?.find((a) => a.activityId === HELD_STEP);
      seen = p
        ? `attempt ${p.attempt}, state ${p.state}, last worker ${p.lastWorkerIdentity}`
        : `run ${d.status.name}, ${HELD_STEP} not pending`;
      return accept(p);
    },
    { timeoutMs: 180_000, intervalMs: 100, last: () => seen },
  );
}

test(
  'two workers on one queue: one is killed mid-step, every run completes, the step is retried on the other, nothing is made twice',
  { timeout: 540_000 },
  async () => {
    workers.push(await lab.workerProcess(), await lab.workerProcess());
    assert.notEqual(workers[0]!.pid, workers[1]!.pid);
    const cluster = await seedCluster();
    const requests = Array.from({ length: RUNS }, () => labRequest(cluster, runTag()));
    const vault = requests[0]!.azure.keyVault.name;

    await withOverride({ pathIncludes: vault, op: 'PUT vaults', hold: true }, async (hold) => {
      const since = await mark();
      for (const request of requests) made.push({ request, id: await lab.start(request), cluster });
      const heldRun = made[0]!.id;

      // The create was accepted (201) and is held; the server says which worker's attempt is polling it.
      await pollUntil(
        'the vault create to be accepted and held',
        async () =>
          (await requestsSince(since, `/vaults/${vault}`)).some((r) => r.method === 'PUT' && r.status === 201),
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      const first = await watchStep(heldRun, `${HELD_STEP} running on a worker`, (p) =>
        p?.state === STARTED ? p : undefined,
      );
      const victim = workers.find((w) => isWorker(first.lastWorkerIdentity, w));
      assert.ok(victim, `${first.lastWorkerIdentity} is none of the workers ${workers.map((w) => w.pid).join(', ')}`);
      const survivor = workers.find((w) => w !== victim)!;

      const killedAt = Date.now();
      await victim.kill();
      // The next attempt, seen running on the survivor while the create is still held; or, if it finished without
      // waiting for the held operation, seen in the history below.
      const retry = await watchStep(heldRun, `${HELD_STEP} retried after the kill`, (p) => {
        if (!p) return { closed: true as const };
        const next = p.state === STARTED && (p.attempt ?? 0) > (first.attempt ?? 1);
        return next ? { closed: false as const, pending: p } : undefined;
      });
      if (!retry.closed) {
        assert.ok(
          isWorker(retry.pending.lastWorkerIdentity, survivor),
          `attempt ${retry.pending.attempt} runs on ${retry.pending.lastWorkerIdentity}, not on pid ${survivor.pid}`,
        );
        console.log(
          `kill to the start of ${HELD_STEP} attempt ${retry.pending.attempt} on the other worker: ` +
            `${ms(retry.pending.lastStartedTime) - killedAt} ms (seen running)`,
        );
      }
      await hold.release();

      const ends = await Promise.all(made.map((m) => lab.waitForEnd(m.id, 300_000)));
      for (const end of ends) assert.equal(end.status, 'COMPLETED', `${end.id}: ${describeEnd(end)}`);

      // The history agrees: the step's closing attempt ran on the survivor.
      const history = await historyOf(lab.client.workflow.getHandle(heldRun));
      const scheduled = history.find((e) => e.activityTaskScheduledEventAttributes?.activityId === HELD_STEP);
      const startedEvent = history.find(
        (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
      );
      const started = startedEvent?.activityTaskStartedEventAttributes;
      assert.ok((started?.attempt ?? 0) >= 2, `${HELD_STEP}'s last attempt was ${started?.attempt}`);
      assert.ok(isWorker(started?.identity, survivor), `it ran on ${started?.identity}, not on pid ${survivor.pid}`);
      if (retry.closed)
        console.log(
          `kill to the start of ${HELD_STEP} attempt ${started?.attempt} on the other worker: ` +
            `${ms(startedEvent?.eventTime) - killedAt} ms (from the history; it did not wait for the held create)`,
        );

      await assertNothingTwice(
        lab,
        since,
        cluster,
        made.map((m) => m.request),
      );
    });
  },
);

/** Each run's objects exist once: one create of each Azure resource, one grant and one attachment, one AD account. */
