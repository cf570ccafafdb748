/**
 * Metrics after a real lab provisioning (issue 16): the worker process (worker/main.ts, as deployed) with the SDK's
 * Prometheus exporter on a free loopback port runs the README's lab request on a cluster of its own, its vault
 * create failing with 500s for one attempt (more than the Azure SDK's own retries), so one step is retried by
 * Temporal; then both exporters are scraped. The worker's step metrics must agree with what Temporal recorded of the run (every
 * activity's attempts, from the histories of every workflow on this task queue), the SDK families the dashboard
 * reads must be there, and the API's request counter must count exactly the requests this test made.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { scaleSetCoordinatorId } from '../../contract/coordination.js';
import {
  HTTP_DURATION,
  HTTP_REQUESTS,
  METRIC_FAMILIES,
  STEP_ATTEMPTS,
  STEP_DURATION,
  STEP_RETRIES,
} from '../../contract/metrics.js';
import { freePort } from '../../lab/process.js';
import { seedCluster, withFault } from '../support/azure-lab.js';
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
import { pollUntil } from '../support/poll.js';
import { parseScrape, type Scrape } from '../support/prometheus.js';
import { historyOf } from '../support/temporal.js';

let lab: E2eLab;
let worker: WorkerProcess | undefined;
let metricsUrl: string;
let made: { request: ReturnType<typeof labRequest>; id: string; nodeResourceGroup: string } | undefined;

before(async () => {
  lab = await startE2eLab({ prefix: 'e2e-metrics', worker: 'none' });
  const address = `127.0.0.1:${await freePort()}`;
  metricsUrl = `http://${address}/metrics`;
  worker = await lab.workerProcess({ GMSA_WORKER_METRICS_ADDRESS: address });
});

after(async () => {
  try {
    await worker?.kill();
    if (made) {
      const failures = await removeBinding(lab, made.request, made.id, made.nodeResourceGroup);
      await removeByName(lab, made.request);
      if (failures.length) throw new Error(`removing what the test made failed:\n${failures.join('\n')}`);
    }
  } finally {
    await lab?.close();
  }
});

async function scrapeWorker(): Promise<Scrape> {
  const res = await fetch(metricsUrl).catch((e: unknown) => {
    throw new Error(`the worker's exporter at ${metricsUrl} does not answer: ${(e as Error).message}`);
  });
  assert.equal(res.status, 200);
  return parseScrape(await res.text());
}

/**
 * Per activity type, over every workflow: the attempts the server recorded (each activity's last attempt number)
 * and the failure types of the attempts it retried (the last one's, on its started event: the lab fails one way).
 */
async function attemptsInHistories(workflowIds: string[]) {
  const attempts = new Map<string, number>();
  const activities = new Map<string, number>();
  const retriedTypes = new Map<string, string>();
  for (const workflowId of workflowIds) {
    const events = await historyOf(lab.client.workflow.getHandle(workflowId));
    const typeOf = new Map<string, string>();
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) typeOf.set(String(e.eventId), s.activityType!.name!);
      const started = e.activityTaskStartedEventAttributes;
      if (started) {
        const type = typeOf.get(String(started.scheduledEventId))!;
        attempts.set(type, (attempts.get(type) ?? 0) + (started.attempt ?? 1));
        activities.set(type, (activities.get(type) ?? 0) + 1);
        const failure = started.lastFailure?.applicationFailureInfo?.type;
        if (failure) retriedTypes.set(type, failure);
      }
    }
  }
  return { attempts, activities, retriedTypes };
}

/**
 * Reads the run until it has ended (approving when asked), counting the API requests made: every request to the
 * API is this test's own.
 */
async function untilEnd(id: string) {
  let reads = 0;
  let approvals = 0;
  let view: View | undefined;
  const end = await pollUntil(
    `provisioning ${id} to end`,
    async () => {
      view = await lab.view(id);
      reads++;
      if (view.status !== 'RUNNING') return view;
      if (view.steps.find((s) => s.name === 'awaitAdApproval')?.status === 'waiting') {
        approvals++;
        await lab.call('POST', `/v1/provisionings/${id}/approve`, 'approver', {});
      }
      return undefined;
    },
    { timeoutMs: 300_000, intervalMs: 500, last: () => `${view?.status}: ${view?.phase}` },
  );
  return { end, reads, approvals };
}

/** More 500s than the Azure SDK retries (maxRetries 3: four requests), for one attempt of ensureKeyVault. */
const SDK_REQUESTS_PER_ATTEMPT = 4;

test(
  'after a lab provisioning, the worker and the API export the families named, with the values of the run',
  { timeout: 420_000 },
  async () => {
    const cluster = await seedCluster();
    const request = labRequest(cluster, runTag());
    const vault = request.azure.keyVault.name;
    const fault = { op: 'PUT vaults', kind: 'server', count: SDK_REQUESTS_PER_ATTEMPT, pathIncludes: vault } as const;
    const { id, end, reads, approvals } = await withFault(fault, async () => {
      const started = await lab.start(request);
      made = { request, id: started, nodeResourceGroup: cluster.nodeResourceGroup };
      return { id: started, ...(await untilEnd(started)) };
    });
    assert.equal(end.status, 'COMPLETED', `${end.phase}; ${end.error ?? ''}`);

    // What Temporal recorded: the provisioning, and the scale-set coordinator that attached its identity.
    const queue = lab.settings.taskQueue;
    const coordinator = scaleSetCoordinatorId(
      { subscriptionId: cluster.subscriptionId, nodeResourceGroup: cluster.nodeResourceGroup, pool: 'win1' },
      queue,
    );
    const { attempts: expected, activities, retriedTypes } = await attemptsInHistories([id, coordinator]);
    assert.equal(expected.get('ensureKeyVault'), 2, `the vault's 500s cost one attempt: ${[...expected].join('; ')}`);
    assert.ok(retriedTypes.get('ensureKeyVault'), 'the retried attempt failed with a type');

    const w = await scrapeWorker();
    const ours = { taskQueue: queue };
    for (const [step, attempts] of expected) {
      const on = { ...ours, step };
      assert.equal(w.sum(STEP_ATTEMPTS, on), attempts, `${STEP_ATTEMPTS} of ${step}`);
      assert.equal(w.sum(`${STEP_DURATION}_count`, on), attempts, `one duration per attempt of ${step}`);
      const runs = activities.get(step)!;
      assert.equal(w.sum(`${STEP_DURATION}_count`, { ...on, outcome: 'ok' }), runs, `${step} ended ok, each time`);
      // Every attempt before an activity's last failed and was retried (no worker died here: each one was seen).
      const retried = attempts - runs;
      assert.equal(w.sum(`${STEP_DURATION}_count`, { ...on, outcome: 'failed' }), retried, `${step} failed`);
      assert.equal(w.sum(STEP_RETRIES, on), retried, `${STEP_RETRIES} of ${step}`);
      if (retried > 0)
        assert.deepEqual(w.values(STEP_RETRIES, 'error_type', on), [retriedTypes.get(step)], `${step}'s error type`);
    }
    assert.deepEqual(w.values(STEP_ATTEMPTS, 'step', ours), [...expected.keys()].sort(), 'no step ran unrecorded');
    assert.ok(w.sum(`${STEP_DURATION}_sum`, ours) > 0, 'durations are measured');
    const buckets = w.values(`${STEP_DURATION}_bucket`, 'le', ours);
    assert.ok(buckets.includes('0.05') && buckets.includes('1800'), `seconds buckets, not the SDK's: ${buckets}`);
    for (const f of METRIC_FAMILIES.filter((f) => f.exporter === 'worker' && f.by === 'sdk'))
      assert.equal(w.types.get(f.name), f.kind, `the SDK family ${f.name} as a ${f.kind}`);
    // Each worker family there as its kind, every sample with the labels contract/metrics.ts (and the dashboard)
    // says it has.
    const unlabelled: string[] = [];
    for (const f of METRIC_FAMILIES.filter((f) => f.exporter === 'worker' && w.types.has(f.name))) {
      assert.equal(w.types.get(f.name), f.kind, f.name);
      const samples = w.samples.filter((s) => s.name === (f.kind === 'histogram' ? `${f.name}_count` : f.name));
      for (const s of samples)
        for (const l of f.labels)
          if (!(l in s.labels)) unlabelled.push(`${f.name} without ${l}: ${JSON.stringify(s.labels)}`);
    }
    assert.deepEqual(unlabelled, []);
    // Labels are code names: nothing of the request shows (its names are this run's own).
    const text = w.samples.map((s) => JSON.stringify(s.labels)).join('\n');
    for (const name of [request.gmsa.name, request.gmsa.standardUser, request.azure.keyVault.name])
      assert.ok(!text.includes(name), `${name} in the worker's labels`);

    // The API: this test's requests, by route pattern; and the Node process's families.
    const res = await lab.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    const a = parseScrape(res.body);
    const route = (route: string, method: string, status: string) => ({ route, method, status });
    assert.equal(a.sum(HTTP_REQUESTS, route('/v1/provisionings/:id', 'GET', '200')), reads);
    assert.equal(a.sum(HTTP_REQUESTS, route('/v1/provisionings', 'POST', '202')), 1);
    assert.equal(a.sum(HTTP_REQUESTS), reads + 1 + approvals, 'nothing else was counted');
    assert.equal(a.sum(`${HTTP_DURATION}_count`, route('/v1/provisionings/:id', 'GET', '200')), reads);
    assert.ok(!res.body.includes(id), 'no provisioning id in the API metrics');
    for (const f of METRIC_FAMILIES.filter((f) => f.exporter === 'api'))
      assert.equal(a.types.get(f.name), f.kind, `the API family ${f.name} as a ${f.kind}`);

    console.log(
      `worker: ${[...expected].map(([s, n]) => `${s} ${n}`).join(', ')} attempts; ` +
        `retries ${w.sum(STEP_RETRIES, ours)} (${w.values(STEP_RETRIES, 'error_type', ours).join(', ')}); ` +
        `API: ${reads} reads, ${approvals} approvals`,
    );
  },
);
