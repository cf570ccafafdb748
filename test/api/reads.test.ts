/**
 * Reads at scale (issue 16), against the real dev server: a finished run is served from its memo without any worker
 * (and an old run without the memo by one query, then from the API's cache), concurrent reads of a running run share
 * one query, and the lists are newest first by start time with a page token that gives every run exactly once,
 * while runs start and end between page reads. Queries are counted by a client interceptor.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { OperationsService } from '../../api/operations-service.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import { OPERATION_WORKFLOWS, operationId } from '../../contract/operations.js';
import { activityDoubles } from '../../lab/activity-doubles.js';
import { dataConverter, KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';
import { PROGRESS_MEMO, STEP_NAMES } from '../../workflows/definitions.js';
import { exampleRequest, uniqueSpec } from '../support/requests.js';
import { pollUntil } from '../support/poll.js';
import { devServerEnv, uniqueQueue, workflowBundle } from '../support/temporal.js';

const VIEWER = 'viewer-token-0123456789';
const tokens = TokenTable.parse(`viewer:${VIEWER}`);
const headers = { authorization: `Bearer ${VIEWER}` };

let env: TestWorkflowEnvironment;
/** Every query and describe the API's client sent, by workflow id. */
const queries: string[] = [];
const describes: string[] = [];
let client: Client;

before(async () => {
  env = await devServerEnv();
  const counting: WorkflowClientInterceptor = {
    async query(input, next) {
      queries.push(input.workflowExecution.workflowId);
      return next(input);
    },
    async describe(input, next) {
      describes.push(input.workflowExecution.workflowId);
      return next(input);
    },
  };
  client = new Client({ connection: env.connection, interceptors: { workflow: [counting] } });
});

after(async () => {
  await env?.teardown();
});

const queriesOf = (id: string) => queries.filter((q) => q === id).length;
const describesOf = (id: string) => describes.filter((d) => d === id).length;

/** An API of its own (its own cache), on a task queue of its own. */
async function api(
  taskQueue = uniqueQueue('reads'),
  options: ConstructorParameters<typeof ProvisioningService>[2] = {},
) {
  const settings = { ...readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS }), taskQueue };
  const service = new ProvisioningService(client, settings, options);
  const operations = new OperationsService(client, settings);
  const app = await buildApp({ service, operations, tokens });
  const get = async (url: string) => {
    const res = await app.inject({ url, headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  return { settings, service, operations, app, get, taskQueue };
}

function request(cluster: string, o: Parameters<typeof exampleRequest>[0] = {}) {
  const r = exampleRequest({ spec: uniqueSpec('reads'), ...o });
  r.cluster.name = cluster;
  return r;
}
const uniqueCluster = () => `aks-r${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

async function worker(taskQueue: string, bundle?: WorkflowBundleWithSourceMap) {
  return Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle ?? (await workflowBundle()),
    activities: activityDoubles().activities,
  });
}

/**
 * A run of `a`'s that waits for approval, with a worker up while `body` reads it. It is watched through another API
 * until it waits, so that `a` has read nothing yet when `body` starts counting.
 */
async function whileWaiting(a: Awaited<ReturnType<typeof api>>, body: (id: string) => Promise<void>) {
  const { id } = await a.service.start(request(uniqueCluster(), { options: { requireAdApproval: true } }));
  const w = await worker(a.taskQueue);
  const watcher = await api(a.taskQueue);
  await w.runUntil(async () => {
    await pollUntil('the run to wait for approval', async () => {
      const v = await watcher.service.get(id);
      return v.steps.find((s) => s.name === 'awaitAdApproval')?.status === 'waiting';
    });
    await body(id);
  });
}

describe('reading one run', () => {
  test('a finished run is read from its memo: no worker runs, no query is sent, and the view is complete', async () => {
    const a = await api();
    const spec = uniqueSpec('memo');
    const { id } = await a.service.start(request(uniqueCluster(), { spec }));
    const w = await worker(a.taskQueue);
    await w.runUntil(client.workflow.getHandle(id).result());
    // The worker has shut down: nothing could answer a query now.
    const memo = (await client.workflow.getHandle(id).describe()).memo ?? {};
    assert.ok(memo[PROGRESS_MEMO], 'the run left its final progress in the memo');

    for (let i = 0; i < 2; i++) {
      const view = await a.get(`/v1/provisionings/${id}`);
      assert.equal(view.status, 'COMPLETED');
      assert.equal(view.phase, 'completed');
      assert.deepEqual(
        view.steps.map((s: { name: string }) => s.name),
        [...STEP_NAMES],
      );
      assert.ok(view.steps.every((s: { status: string }) => s.status === 'succeeded'));
      assert.equal(view.outputs.credentialSpecName, spec);
    }
    assert.equal(queriesOf(id), 0, 'no query was sent');
  });

  test('a run that ended before the memo existed is read by one query, then from the cache without a worker', async () => {
    const a = await api();
    const old = await bundleWorkflowCode({
      workflowsPath: path.join(path.dirname(fileURLToPath(import.meta.url)), 'old-build-workflows.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
    });
    const spec = uniqueSpec('old');
    const { id } = await a.service.start(request(uniqueCluster(), { spec }));
    const w = await worker(a.taskQueue, old);
    const first = await w.runUntil(async () => {
      await client.workflow.getHandle(id).result();
      assert.equal((await client.workflow.getHandle(id).describe()).memo?.[PROGRESS_MEMO], undefined, 'no memo');
      return a.get(`/v1/provisionings/${id}`);
    });
    assert.equal(queriesOf(id), 1, 'the first read asked the worker');
    assert.equal(first.status, 'COMPLETED');
    assert.equal(first.outputs.credentialSpecName, spec);
    assert.ok(first.steps.length > 0 && first.steps.every((s: { status: string }) => s.status === 'succeeded'));
    // The worker is gone: later reads are the kept view, identical, and ask nothing.
    for (let i = 0; i < 3; i++) assert.deepEqual(await a.get(`/v1/provisionings/${id}`), first);
    assert.equal(queriesOf(id), 1);
  });

  test('concurrent reads of a running run share one query, the next read is answered from it, a change asks again', async () => {
    // Views a minute fresh: what this counts does not then depend on how fast the machine is (the ages
    // themselves are domain/shared-reads.ts's, tested on a clock of their own).
    const a = await api(uniqueQueue('reads'), { readAges: { freshMs: 60_000, maxAgeMs: 60_000 } });
    await whileWaiting(a, async (id) => {
      const before = queriesOf(id);
      // Twenty reads begun in the same turn of the event loop: all of them are in flight together.
      const views = await Promise.all(Array.from({ length: 20 }, () => a.service.get(id)));
      assert.equal(queriesOf(id) - before, 1, 'one query for twenty reads');
      assert.ok(views.every((v) => v === views[0] && v.status === 'RUNNING'));
      assert.equal(await a.service.get(id), views[0], 'answered from the view just read');
      assert.equal(queriesOf(id) - before, 1, 'and without a query');
      // A change through the API: whoever made it reads it back, not the view from before.
      await a.service.cancel(id);
      const seen = describesOf(id);
      const afterCancel = await a.service.get(id);
      assert.notEqual(afterCancel, views[0]);
      assert.equal(describesOf(id) - seen, 1, 'read anew');
      // Closed by the cancel already, or still on its way there.
      await client.workflow
        .getHandle(id)
        .terminate('test done')
        .catch(() => undefined);
    });
  });

  test('a waiting run is queried once however often it is read; a new event in its history asks again', async () => {
    // Every read describes the run (no view kept for a moment): only what the describe shows decides.
    const a = await api(uniqueQueue('reads'), { readAges: { freshMs: 0, maxAgeMs: 0 } });
    await whileWaiting(a, async (id) => {
      const [q0, d0] = [queriesOf(id), describesOf(id)];
      const first = await a.service.get(id);
      for (let i = 0; i < 5; i++) assert.equal(await a.service.get(id), first, 'the same view');
      assert.equal(describesOf(id) - d0, 6, 'each read described the run');
      assert.equal(queriesOf(id) - q0, 1, 'one query: its history did not grow');
      // A signal it has no handler for: new events, the same state, and a query to learn that.
      const length = (await client.workflow.getHandle(id).describe()).historyLength;
      await client.workflow.getHandle(id).signal('notASignalOfThisWorkflow');
      await pollUntil('the signal to be in its history', async () => {
        return (await client.workflow.getHandle(id).describe()).historyLength > length;
      });
      const again = await a.service.get(id);
      assert.equal(queriesOf(id) - q0, 2, 'asked again');
      assert.deepEqual(again, first);
      await client.workflow.getHandle(id).terminate('test done');
    });
  });
});

interface Summary {
  id: string;
  runId: string;
  status: string;
  startedAt: string;
}

/** Every page of `url` (which has its own `limit`), with `between` run after each page read. */
async function pages(
  get: (url: string) => Promise<{ items: Summary[]; nextPageToken?: string }>,
  url: string,
  between = async (_page: number) => {},
) {
  const seen: Summary[] = [];
  let token: string | undefined;
  let n = 0;
  do {
    const page = await get(token ? `${url}&pageToken=${encodeURIComponent(token)}` : url);
    seen.push(...page.items);
    token = page.nextPageToken;
    await between(n++);
  } while (token);
  return { seen, pages: n };
}

describe('listing, newest first, with a page token', () => {
  test('120 runs in pages of 25: newest first by start, each once, while runs start and end between pages', async () => {
    // No worker on this queue: runs stay running until terminated, and terminating them in an order of their
    // own makes their close times disagree with their start times, as long-running runs do.
    const a = await api();
    const cluster = uniqueCluster();
    const started: { id: string; runId: string }[] = [];
    for (let i = 0; i < 120; i++) started.push(await a.service.start(request(cluster)));
    const closing = started.filter((_, i) => i % 3 !== 0);
    // A fixed permutation (37 and 80 are coprime): a run started early may close last.
    for (let i = 0; i < closing.length; i++) {
      const run = closing[(i * 37) % closing.length]!;
      await client.workflow.getHandle(run.id, run.runId).terminate('test');
    }
    const query = `${SEARCH_ATTRIBUTES.cluster.name} = '${cluster}'`;
    await pollUntil('visibility to show the 120 runs, 80 closed', async () => {
      const all = await client.workflow.count(query);
      const closed = await client.workflow.count(`${query} AND ExecutionStatus = 'Terminated'`);
      return all.count === 120 && closed.count === 80;
    });

    const still = started.filter((_, i) => i % 3 === 0);
    const added: { id: string; runId: string }[] = [];
    const { seen, pages: n } = await pages(a.get, `/v1/provisionings?cluster=${cluster}&limit=25`, async (page) => {
      // Between pages: a new run starts (newer than every listed one), and a listed running run ends.
      added.push(await a.service.start(request(cluster)));
      const run = still[page]!;
      await client.workflow.getHandle(run.id, run.runId).terminate('between pages');
    });
    assert.equal(n, 5, '120 runs in pages of 25');
    assert.deepEqual(
      seen.map((s) => s.runId),
      started.map((s) => s.runId).reverse(),
      'every run once, newest first, none of those started meanwhile',
    );
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]!.startedAt >= seen[i]!.startedAt);

    // A list from the start again has the newer runs first.
    const head = await pollUntil('the runs started meanwhile to be listed', async () => {
      const page = await a.get(`/v1/provisionings?cluster=${cluster}&limit=25`);
      return page.items.length === 25 && page.items[5].runId === started[119]!.runId && page;
    });
    assert.deepEqual(
      head.items.slice(0, 5).map((s: Summary) => s.runId),
      added.map((s) => s.runId).reverse(),
    );
    const running = await pages(a.get, `/v1/provisionings?cluster=${cluster}&status=RUNNING&limit=7`);
    const closed = await pages(a.get, `/v1/provisionings?cluster=${cluster}&status=TERMINATED&limit=7`);
    assert.equal(running.seen.length + closed.seen.length, 125);
    assert.ok(running.seen.every((s) => s.status === 'RUNNING'));
    assert.ok(closed.seen.every((s) => s.status === 'TERMINATED'));
    for (const r of [...started, ...added]) {
      await client.workflow
        .getHandle(r.id, r.runId)
        .terminate('test done')
        .catch(() => undefined);
    }
  });

  test('operations: every run of an id once, newest first, across pages', async () => {
    const a = await api();
    const binding = `gmsa-${uniqueCluster()}-reads-0123456789ab`;
    const runs: string[] = [];
    // One id run again and again (a finished operation may run again): each run is listed, once.
    for (let i = 0; i < 30; i++) {
      const kind = i % 5 === 0 ? 'validate' : 'repair';
      const handle = await client.workflow.start(OPERATION_WORKFLOWS[kind], {
        workflowId: operationId(binding, kind),
        taskQueue: a.taskQueue,
        args: [{ bindingId: binding }],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.binding, value: binding }],
      });
      runs.push(handle.firstExecutionRunId);
      if (i < 29) await handle.terminate('test');
    }
    await pollUntil('visibility to show the 30 runs', async () => {
      const { count } = await client.workflow.count(`${SEARCH_ATTRIBUTES.binding.name} = '${binding}'`);
      return count === 30;
    });
    const { seen, pages: n } = await pages(a.get, `/v1/operations?binding=${binding}&limit=7`);
    assert.equal(n, 5);
    assert.deepEqual(
      seen.map((s) => s.runId),
      [...runs].reverse(),
    );
    await client.workflow.getHandle(operationId(binding, 'repair')).terminate('test done');
  });

  test('a page token this API did not write is refused, 400 naming the field', async () => {
    const a = await api();
    const forged = Buffer.from(JSON.stringify(["2024-01-01T00:00:00.000000000Z' OR 'a'='a", 'x'])).toString(
      'base64url',
    );
    for (const token of ['not-a-token', forged]) {
      for (const url of ['/v1/provisionings', '/v1/operations']) {
        const res = await a.app.inject({ url: `${url}?pageToken=${token}`, headers });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().errors[0].field, '/querystring/pageToken');
      }
    }
  });
});

describe('a row the API cannot decode', () => {
  test('a run whose memo another key ring wrote is listed all the same: the list never decodes memos', async () => {
    const mine = new Client({
      connection: env.connection,
      dataConverter: dataConverter(KeyRing.parse(KeyRing.generateEntry('mine'), 'test')),
    });
    const theirs = new Client({
      connection: env.connection,
      dataConverter: dataConverter(KeyRing.parse(KeyRing.generateEntry('theirs'), 'test')),
    });
    const cluster = uniqueCluster();
    const r = request(cluster);
    const id = `reads-foreign-memo-${r.gmsa.credentialSpecName}`;
    // No worker: the run stays RUNNING with the memo it was started with, encrypted with a key the API lacks.
    await theirs.workflow.start('provisionGmsa', {
      taskQueue: uniqueQueue('foreign'),
      workflowId: id,
      args: [r],
      memo: { [PROGRESS_MEMO]: { phase: 'theirs' } },
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.cluster, value: cluster }],
    });
    const settings = readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS });
    const app = await buildApp({ service: new ProvisioningService(mine, settings), tokens });
    const list = await pollUntil('the run to be visible', async () => {
      const res = await app.inject({ url: `/v1/provisionings?cluster=${cluster}`, headers });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { items: { id: string }[] };
      return body.items.length > 0 && body;
    });
    assert.deepEqual(
      list.items.map((i) => i.id),
      [id],
    );
    await theirs.workflow.getHandle(id).terminate('test over');
    await app.close();
  });
});
