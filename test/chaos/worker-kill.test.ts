/**
 * Chaos: the worker killed with SIGKILL at step boundaries and in the middle of a long Azure operation (issue 13).
 * Worker processes (worker/main.ts, as deployed; three at first) serve a small fleet on a cluster of its own. Each
 * time a step of the watched run completes, the worker that completed it (the history's identity, `<pid>@<host>`)
 * is killed when another is up, and a new one started (a boundary passed while only one is up is counted, not hit); meanwhile enabling gMSA on the cluster (a PUT managedClusters, a long-running operation)
 * is held in the fake, and the worker polling it is killed too. Every run must complete, the enable resumed rather
 * than sent again, and nothing may exist twice in Azure, AD or Kubernetes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { ProvisionRequest } from '../../domain/request.js';
import { mark, requestsSince, seedCluster, withOverride } from '../support/azure-lab.js';
import {
  assertNothingTwice,
  doneSteps,
  expectAllComplete,
  pendingStep,
  progressNow,
  removeRuns,
  reportRecovery,
  STARTED,
  step,
  timeToProgress,
  tryView,
} from '../support/chaos.js';
import { labRequest, runTag, startE2eLab, type E2eLab, type WorkerProcess } from '../support/e2e-lab.js';
import { pollUntil } from '../support/poll.js';
import { historyOf } from '../support/temporal.js';

const RUNS = 3;
const LONG_STEP = 'confirmAksGmsa';

let lab: E2eLab;
const workers = new Set<WorkerProcess>();
const made: { request: ProvisionRequest; id: string; nodeResourceGroup: string }[] = [];

before(async () => {
  lab = await startE2eLab({ prefix: 'chaos-workers', worker: 'none' });
});

after(async () => {
  try {
    for (const w of workers) await w.kill();
    await removeRuns(lab, made);
  } finally {
    await lab?.close();
  }
});

const owns = (identity: string | null | undefined, w: WorkerProcess) => identity?.startsWith(`${w.pid}@`) ?? false;

/** The worker that completed the run's newest activity, from the server's history. */
async function lastCompleter(id: string): Promise<string | undefined> {
  const events = await historyOf(lab.client.workflow.getHandle(id));
  for (let i = events.length - 1; i >= 0; i--) {
    const done = events[i]!.activityTaskCompletedEventAttributes;
    if (done) return done.identity ?? undefined;
  }
  return undefined;
}

/** A new worker in the background; `pending` counts the ones still starting. */
let starting = 0;
function replaceWorker(): Promise<void> {
  starting += 1;
  return lab.workerProcess().then(
    (w) => {
      workers.add(w);
      starting -= 1;
    },
    (e: unknown) => {
      starting -= 1;
      throw e;
    },
  );
}

test(
  'SIGKILL of the worker at step boundaries and mid long Azure operation: N/N complete, nothing made twice',
  { timeout: 420_000 },
  async () => {
    // Three at first: two kills can follow each other before a replacement is up.
    for (const w of await Promise.all([lab.workerProcess(), lab.workerProcess(), lab.workerProcess()])) workers.add(w);
    const cluster = await seedCluster();
    const requests = Array.from({ length: RUNS }, () => labRequest(cluster, runTag()));
    const since = await mark();
    const replacements: Promise<void>[] = [];
    const recoveries: number[] = [];
    const kill = async (w: WorkerProcess, id: string) => {
      const baseline = await progressNow(lab, [id]);
      const at = Date.now();
      workers.delete(w);
      await w.kill();
      replacements.push(replaceWorker());
      return { at, baseline };
    };

    await withOverride({ pathIncludes: cluster.name, op: 'PUT managedClusters', hold: true }, async (hold) => {
      for (const request of requests)
        made.push({ request, id: await lab.start(request), nodeResourceGroup: cluster.nodeResourceGroup });
      const watched = made[0]!.id;
      const boundaries: string[] = [];
      let missed = 0;
      let done = 0;
      let longKilled = false;
      const deadline = Date.now() + 300_000;
      for (;;) {
        assert.ok(Date.now() < deadline, `the watched run did not end: ${JSON.stringify(await tryView(lab, watched))}`);
        const v = await tryView(lab, watched);
        if (typeof v === 'string') {
          await delay(250);
          continue;
        }
        if (v.status !== 'RUNNING') break;
        const now = doneSteps(v);
        if (now > done) {
          // A step boundary: kill the worker that just completed a step, when two are up.
          done = now;
          const by = await lastCompleter(watched);
          const victim = [...workers].find((w) => owns(by, w));
          if (victim && workers.size >= 2) {
            const { at, baseline } = await kill(victim, watched);
            boundaries.push(v.steps.filter((s) => s.status === 'succeeded').length.toString());
            void timeToProgress(lab, baseline, at, 240_000).then(
              (ms) => recoveries.push(ms),
              () => undefined, // a run that never moves fails below, on its end
            );
          } else missed += 1;
        }
        // Everything that does not need the cluster is done and the enable is held: kill the worker polling it.
        if (!longKilled && step(v, 'ensureGmsa')?.status === 'succeeded' && workers.size >= 2) {
          const pending = await pendingStep(lab, watched, LONG_STEP);
          const accepted = (await requestsSince(since, `/managedClusters/${cluster.name}`)).some(
            (r) => r.method === 'PUT' && r.status >= 200 && r.status < 300,
          );
          const victim = pending?.state === STARTED && [...workers].find((w) => owns(pending.lastWorkerIdentity, w));
          if (accepted && victim) {
            longKilled = true;
            const at = Date.now();
            workers.delete(victim);
            await victim.kill();
            replacements.push(replaceWorker());
            // The next attempt starts on another worker (after the heartbeat timeout) while the enable is still held.
            const retry = await pollUntil(
              `${LONG_STEP} retried after the kill`,
              async () => {
                const p = await pendingStep(lab, watched, LONG_STEP);
                return p?.state === STARTED && (p.attempt ?? 0) > (pending.attempt ?? 1) && p;
              },
              { timeoutMs: 120_000, intervalMs: 200 },
            );
            assert.ok(!owns(retry.lastWorkerIdentity, victim), 'the retry runs on a live worker');
            reportRecovery('worker-kill-mid-operation', Date.now() - at, `attempt ${retry.attempt} polling`);
            await hold.release();
          }
        }
        if (!longKilled && step(v, 'ensureGmsa')?.status === 'succeeded' && workers.size < 2 && starting === 0)
          replacements.push(replaceWorker());
        await delay(150);
      }
      assert.ok(longKilled, `the worker polling ${LONG_STEP} was killed`);
      assert.ok(boundaries.length >= 1, 'a worker was killed at a step boundary');
      await expectAllComplete(
        lab,
        made.map((m) => m.id),
      );
      await Promise.all(replacements);
      const worst = recoveries.length ? Math.max(...recoveries) : 0;
      reportRecovery(
        'worker-kill-at-boundaries',
        worst,
        `${boundaries.length} kills at step boundaries, ${missed} boundaries passed while a worker was starting; worst case`,
      );
    });

    // The enable was sent once and resumed from its heartbeat, not sent again by the next attempt.
    const enables = (await requestsSince(since, `/managedClusters/${cluster.name}`)).filter(
      (r) => r.method === 'PUT' && r.status >= 200 && r.status < 300,
    );
    assert.equal(enables.length, 1, `one accepted PUT managedClusters: ${JSON.stringify(enables)}`);
    await assertNothingTwice(lab, since, cluster, requests);
  },
);
