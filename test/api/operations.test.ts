/**
 * The day-2 routes through Fastify's inject, with the real Temporal dev server behind them. The worker runs the
 * product's provisioning (to make bindings) and, under the operations' workflow types, stand-ins on the product's
 * operation runner (./operation-stand-ins.ts) that echo their input, so these tests hold whatever the real
 * operations do (their suites, and the e2e ones through these routes, test that); readBinding is the real activity, held by the
 * test where a run must stay running. Proves: what the API starts (type, id, input, search attributes), how it
 * reads and lists operations, the inspections' answers, and every refusal (400, 401/403, 404, 409, 503).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { createBindingActivities } from '../../activities/binding.js';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { OperationsService } from '../../api/operations-service.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import { OPERATION_WORKFLOWS, type BindingInput, type OperationKind } from '../../contract/operations.js';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';
import { operationStandInBundle, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { deferred, pollUntil } from '../support/poll.js';
import { exampleRequest, uniqueSpec } from '../support/requests.js';

const TOKENS = { viewer: 'ops-viewer-token-0123456789', operator: 'ops-operator-token-0123456789' };
const tokens = TokenTable.parse(`viewer:${TOKENS.viewer},operator:${TOKENS.operator}`);
type Role = keyof typeof TOKENS;
const as = (role: Role) => ({ authorization: `Bearer ${TOKENS[role]}` });

/** readBinding holds for a binding while the test keeps its gate; fails for a binding given a failure. */
const holds = new Map<string, Promise<void>>();
const failures = new Map<string, Error>();
const readBindingCalls: string[] = [];
const { readBinding } = createBindingActivities();

let harness: ApiHarness;
let app: ApiHarness['app'];

before(async () => {
  harness = await startApiHarness({
    tokens,
    prefix: 'ops',
    workflowBundle: await operationStandInBundle(),
    overrides: {
      async readBinding(input: BindingInput & { requireSettled?: boolean }) {
        readBindingCalls.push(input.bindingId);
        await holds.get(input.bindingId);
        const failure = failures.get(input.bindingId);
        if (failure) throw failure;
        return readBinding(input);
      },
    },
  });
  app = harness.app;
});

after(async () => {
  await harness?.close();
});

const call = (method: 'GET' | 'POST', url: string, role: Role = 'viewer', payload?: object, headers = {}) =>
  app.inject({ method, url, headers: { ...as(role), ...headers }, payload });

const fieldsOf = (body: { errors?: { field: string }[] }) => (body.errors ?? []).map((e) => e.field);

/** A completed provisioning of its own cluster and spec: a binding. */
async function binding(o: Parameters<typeof exampleRequest>[0] = {}): Promise<string> {
  const r = exampleRequest({ spec: uniqueSpec('ops'), ...o });
  r.cluster.name = `aks-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const res = await call('POST', '/v1/provisionings', 'operator', r);
  assert.equal(res.statusCode, 202, res.body);
  const id = res.json().id as string;
  if (!o.options?.requireAdApproval) await until(`/v1/provisionings/${id}`, (b) => b.status === 'COMPLETED');
  return id;
}

async function until(url: string, ok: (b: Record<string, unknown>) => boolean, what = url) {
  let body: Record<string, unknown> = {};
  return pollUntil(
    what,
    async () => {
      const res = await call('GET', url);
      body = res.json();
      return res.statusCode === 200 && ok(body) && body;
    },
    { intervalMs: 100, last: () => JSON.stringify(body).slice(0, 600) },
  );
}

const BODIES: Record<OperationKind, object | undefined> = {
  deprovision: { disableGmsa: true },
  'rotate-password': undefined,
  repair: {},
  validate: { mode: 'pod', timeoutSeconds: 120 },
};
const SUFFIX: Record<OperationKind, string> = {
  deprovision: 'deprovision',
  'rotate-password': 'rotate',
  repair: 'repair',
  validate: 'validate',
};

describe('starting an operation', () => {
  test('each kind: 202 with its id and links; it runs under its type with the body and binding; GET reads it', async () => {
    const id = await binding();
    for (const [kind, body] of Object.entries(BODIES) as [OperationKind, object | undefined][]) {
      const res = await call('POST', `/v1/provisionings/${id}/${kind}`, 'operator', body);
      assert.equal(res.statusCode, 202, `${kind}: ${res.body}`);
      const accepted = res.json();
      const opId = `${id}.${SUFFIX[kind]}`;
      assert.equal(accepted.operationId, opId);
      assert.equal(accepted.status, 'RUNNING');
      assert.equal(res.headers.location, `/v1/operations/${opId}`);
      assert.equal(accepted.links.self, `/v1/operations/${opId}`);
      assert.equal(accepted.links.binding, `/v1/provisionings/${id}`);
      assert.match(accepted.links.temporalUi, new RegExp(`/workflows/${opId.replace(/\./g, '\\.')}$`));

      const done = await until(`/v1/operations/${opId}`, (b) => b.status === 'COMPLETED');
      assert.equal(done.kind, kind);
      assert.equal(done.bindingId, id);
      assert.equal(done.scheduled, false);
      assert.equal(done.phase, 'completed');
      assert.deepEqual(
        (done.steps as { name: string; status: string }[]).map((s) => [s.name, s.status]),
        [
          ['readBinding', 'succeeded'],
          ['verifyChain', 'succeeded'],
        ],
        "the operation's own steps",
      );
      const outputs = done.outputs as { kind: string; input: unknown; bindingStatus: string };
      assert.deepEqual(outputs.input, { ...body, bindingId: id }, 'the workflow got [{ bindingId, ...body }]');
      assert.equal(outputs.bindingStatus, 'COMPLETED');

      const d = await harness.env.client.workflow.getHandle(opId).describe();
      assert.equal(d.type, OPERATION_WORKFLOWS[kind]);
      assert.equal(d.taskQueue, harness.taskQueue);
      assert.equal(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.binding), id);
      const provisioning = await harness.env.client.workflow.getHandle(id).describe();
      for (const key of [SEARCH_ATTRIBUTES.cluster, SEARCH_ATTRIBUTES.spec]) {
        assert.ok(provisioning.typedSearchAttributes.get(key), `the provisioning has ${key.name}`);
        assert.equal(d.typedSearchAttributes.get(key), provisioning.typedSearchAttributes.get(key), key.name);
      }
      assert.equal(await d.staticSummary(), `${kind} of ${id}`);
    }
    // A finished operation may run again.
    const again = await call('POST', `/v1/provisionings/${id}/repair`, 'operator');
    assert.equal(again.statusCode, 202, again.body);
    await until(`/v1/operations/${id}.repair`, (b) => b.status === 'COMPLETED');
  });

  test('409 while that operation runs, with the running id; another kind may run; GET shows the held step', async () => {
    const id = await binding();
    const gate = deferred();
    holds.set(id, gate.promise);
    try {
      const first = await call('POST', `/v1/provisionings/${id}/repair`, 'operator', {});
      assert.equal(first.statusCode, 202, first.body);
      const second = await call('POST', `/v1/provisionings/${id}/repair`, 'operator', {});
      assert.equal(second.statusCode, 409, second.body);
      assert.match(second.headers['content-type'] as string, /^application\/problem\+json/);
      assert.equal(second.json().runningId, `${id}.repair`);
      assert.match(second.json().detail, /already running/);
      const other = await call('POST', `/v1/provisionings/${id}/validate`, 'operator', { mode: 'chain' });
      assert.equal(other.statusCode, 202, 'one of each kind at a time, not one operation per binding');
      const running = await until(
        `/v1/operations/${id}.repair`,
        (b) => (b.steps as { name: string; status: string }[])[0]?.status === 'running',
      );
      assert.equal(running.status, 'RUNNING');
      const [held, next] = running.steps as { name: string; status: string; attempts: number }[];
      assert.deepEqual([held!.name, held!.attempts, next!.status], ['readBinding', 1, 'pending']);
    } finally {
      gate.resolve();
      holds.delete(id);
    }
    await until(`/v1/operations/${id}.repair`, (b) => b.status === 'COMPLETED');
    await until(`/v1/operations/${id}.validate`, (b) => b.status === 'COMPLETED');
  });

  test('409 while the provisioning itself still runs, naming it', async () => {
    const id = await binding({ options: { requireAdApproval: true } });
    try {
      const res = await call('POST', `/v1/provisionings/${id}/deprovision`, 'operator', {});
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().runningId, id);
      assert.match(res.json().detail, /still running/);
      const none = await harness.env.client.workflow
        .getHandle(`${id}.deprovision`)
        .describe()
        .then(
          () => 'started',
          () => 'none',
        );
      assert.equal(none, 'none', 'no operation was started');
    } finally {
      await call('POST', `/v1/provisionings/${id}/cancel`, 'operator');
    }
  });

  test('404 for an unknown binding, and for an id of a workflow that is no provisioning', async () => {
    const unknown = 'gmsa-aks1-nothing-0123456789ab';
    for (const kind of Object.keys(BODIES) as OperationKind[]) {
      const res = await call('POST', `/v1/provisionings/${unknown}/${kind}`, 'operator', BODIES[kind]);
      assert.equal(res.statusCode, 404, `${kind}: ${res.body}`);
      assert.match(res.json().detail, new RegExp(`no provisioning ${unknown}`));
    }
    // A run of another type under an id shaped like a provisioning's, on a queue nobody polls.
    const foreign = `gmsa-aks1-foreign-${Date.now().toString(16).padStart(12, '0').slice(-12)}`;
    const handle = await harness.env.client.workflow.start('repairGmsa', {
      workflowId: foreign,
      taskQueue: `nobody-${process.pid}`,
      args: [{ bindingId: foreign }],
    });
    try {
      const res = await call('POST', `/v1/provisionings/${foreign}/repair`, 'operator');
      assert.equal(res.statusCode, 404, res.body);
      assert.equal((await call('GET', `/v1/provisionings/${foreign}/access`)).statusCode, 404);
    } finally {
      await handle.terminate('test cleanup');
    }
  });

  test('400 with the field for a malformed body or id; nothing starts', async () => {
    const id = await binding();
    const cases: [OperationKind, unknown, string][] = [
      ['deprovision', { disableGmsa: 'yes' }, '/body/disableGmsa'],
      ['deprovision', { purge: true }, '/body/purge'],
      ['validate', {}, '/body/mode'],
      ['validate', { mode: 'smoke' }, '/body/mode'],
      ['validate', { mode: 'pod', timeoutSeconds: 0 }, '/body/timeoutSeconds'],
      ['rotate-password', { password: 'not-accepted' }, '/body/password'],
      ['repair', { now: true }, '/body/now'],
    ];
    for (const [kind, body, field] of cases) {
      const res = await call('POST', `/v1/provisionings/${id}/${kind}`, 'operator', body as object);
      assert.equal(res.statusCode, 400, `${kind} ${JSON.stringify(body)}: ${res.body}`);
      assert.ok(fieldsOf(res.json()).includes(field), `${kind}: ${field} in ${res.body}`);
      assert.ok(!res.body.includes('not-accepted'), 'a refused value is not echoed');
    }
    const badId = await call('POST', '/v1/provisionings/not..an-id/repair', 'operator');
    assert.equal(badId.statusCode, 400);
    assert.deepEqual(fieldsOf(badId.json()), ['/params/id']);
    for (const kind of Object.keys(BODIES) as OperationKind[]) {
      const started = await harness.env.client.workflow
        .getHandle(`${id}.${SUFFIX[kind]}`)
        .describe()
        .then(
          () => true,
          () => false,
        );
      assert.equal(started, false, `no ${kind} started`);
    }
  });

  test('roles: a viewer may read but not start; no token is 401', async () => {
    const id = await binding();
    const res = await call('POST', `/v1/provisionings/${id}/repair`, 'viewer');
    assert.equal(res.statusCode, 403);
    assert.match(res.json().detail, /operator/);
    const anonymous = await app.inject({ method: 'POST', url: `/v1/provisionings/${id}/deprovision` });
    assert.equal(anonymous.statusCode, 401);
    assert.equal((await app.inject({ url: '/v1/operations' })).statusCode, 401);
    assert.equal((await call('GET', '/v1/operations?limit=1')).statusCode, 200);
  });
});

describe('reading and listing operations', () => {
  test('GET of an unknown or malformed operation id: 404, 400 with the field', async () => {
    const unknown = await call('GET', '/v1/operations/gmsa-aks1-nothing-0123456789ab.repair');
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.json().detail, /no operation/);
    for (const bad of ['gmsa-aks1-nothing-0123456789ab', 'gmsa-aks1-nothing-0123456789ab.access', 'x.repair']) {
      const res = await call('GET', `/v1/operations/${bad}`);
      assert.equal(res.statusCode, 400, bad);
      assert.deepEqual(fieldsOf(res.json()), ['/params/operationId']);
    }
  });

  test('list: by binding, kind and status, newest first; a scheduled run is read and listed too', async () => {
    const a = await binding();
    const b = await binding();
    const start = async (id: string, kind: OperationKind) => {
      const res = await call('POST', `/v1/provisionings/${id}/${kind}`, 'operator', BODIES[kind]);
      assert.equal(res.statusCode, 202, res.body);
      return until(`/v1/operations/${res.json().operationId}`, (v) => v.status === 'COMPLETED');
    };
    const repairA = await start(a, 'repair');
    // So that "newest first" has one right answer: the next starts once the clock has passed the first's start.
    await pollUntil('the clock to move', () => Date.now() > Date.parse(String(repairA.startedAt)));
    await start(a, 'validate');
    await start(b, 'repair');
    // What a Schedule starts: `<operation id>-<time>`, with no attribute set by the API.
    const scheduledId = `${a}.repair-2026-12-02T06:00:00Z`;
    await harness.env.client.workflow.start(OPERATION_WORKFLOWS.repair, {
      workflowId: scheduledId,
      taskQueue: harness.taskQueue,
      args: [{ bindingId: a }],
    });
    const scheduled = await until(`/v1/operations/${scheduledId}`, (v) => v.status === 'COMPLETED');
    assert.equal(scheduled.scheduled, true);
    assert.equal(scheduled.kind, 'repair');
    assert.equal(scheduled.bindingId, a);

    const list = async (q: string) => {
      const res = await call('GET', `/v1/operations?${q}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json().items as { id: string; kind: string; bindingId: string; scheduled: boolean }[];
    };
    // Visibility is eventually consistent: poll until every run is listed.
    const ofA = await pollUntil('the three runs of a to be listed', async () => {
      const items = await list(`binding=${a}`);
      return items.length >= 3 && items;
    });
    assert.deepEqual(
      ofA.map((i) => i.id),
      [scheduledId, `${a}.validate`, `${a}.repair`],
    );
    assert.ok(ofA.every((i) => i.bindingId === a));
    assert.deepEqual(
      ofA.map((i) => i.scheduled),
      [true, false, false],
    );
    const repairs = await list(`binding=${a}&kind=repair&status=COMPLETED`);
    assert.deepEqual(
      repairs.map((i) => i.id),
      [scheduledId, `${a}.repair`],
    );
    assert.deepEqual(await list(`binding=${a}&status=RUNNING`), []);
    assert.deepEqual(
      (await list(`binding=${a}&limit=1`)).map((i) => i.id),
      [scheduledId],
    );
    const ofB = await pollUntil('the run of b to be listed', async () => {
      const items = await list(`binding=${b}`);
      return items.length >= 1 && items;
    });
    assert.deepEqual(
      ofB.map((i) => [i.id, i.kind]),
      [[`${b}.repair`, 'repair']],
    );
    const bad = await call('GET', '/v1/operations?kind=reboot&binding=x.y&status=BOGUS&color=red');
    assert.equal(bad.statusCode, 400);
    for (const f of ['/querystring/kind', '/querystring/binding', '/querystring/status', '/querystring/color'])
      assert.ok(fieldsOf(bad.json()).includes(f), `${f} in ${bad.body}`);
  });
});

describe('inspections', () => {
  test("access: the workflow's report as it is; 404 for an unknown binding", async () => {
    const id = await binding();
    const res = await call('GET', `/v1/provisionings/${id}/access`);
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.headers['content-type'] as string, /^application\/json/);
    const r = exampleRequest({ spec: 'x' });
    assert.deepEqual(res.json(), {
      bindingId: id,
      pools: r.cluster.windowsNodePools.map((name) => ({ name, expected: true, hasAccess: true })),
    });
    const d = await harness.env.client.workflow.getHandle(`${id}.access`).describe();
    assert.equal(d.type, 'gmsaAccess');
    assert.equal(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.binding), id);
    const unknown = await call('GET', '/v1/provisionings/gmsa-aks1-nothing-0123456789ab/access');
    assert.equal(unknown.statusCode, 404);
    assert.equal(
      (await call('GET', '/v1/provisionings/gmsa-aks1-nothing-0123456789ab/sample-workload')).statusCode,
      404,
    );
  });

  test('sample-workload: YAML by default, JSON when asked for', async () => {
    const id = await binding();
    const yaml = await call('GET', `/v1/provisionings/${id}/sample-workload`);
    assert.equal(yaml.statusCode, 200, yaml.body);
    assert.match(yaml.headers['content-type'] as string, /^application\/yaml/);
    const view = await harness.env.client.workflow.getHandle(id).describe();
    const spec = view.typedSearchAttributes.get(SEARCH_ATTRIBUTES.spec)!;
    assert.equal(
      yaml.body,
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${spec}-sample\n# spec ${spec}\n`,
    );
    const json = await call('GET', `/v1/provisionings/${id}/sample-workload`, 'viewer', undefined, {
      accept: 'application/json',
    });
    assert.equal(json.statusCode, 200);
    assert.match(json.headers['content-type'] as string, /^application\/json/);
    assert.deepEqual(json.json(), {
      yaml: yaml.body,
      image: 'mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022',
      nodeSelector: { 'kubernetes.io/os': 'windows' },
    });
  });

  test('concurrent reads share one run of the inspection', async () => {
    // The API's own client, with its starts seen: the second read must get the first's run back.
    const client = new Client({ connection: harness.env.connection });
    const started: string[] = [];
    const start = client.workflow.start.bind(client.workflow);
    client.workflow.start = (async (...args: Parameters<typeof start>) => {
      const handle = await start(...args);
      started.push(handle.firstExecutionRunId);
      return handle;
    }) as typeof start;
    const shared = await buildApp({
      service: harness.service,
      operations: new OperationsService(client, harness.settings),
      tokens,
    });
    const id = await binding();
    const gate = deferred();
    holds.set(id, gate.promise);
    try {
      const get = () => shared.inject({ url: `/v1/provisionings/${id}/access`, headers: as('viewer') });
      const first = get();
      await pollUntil('the first read to start its run', () => started.length === 1);
      const second = get();
      await pollUntil('the second read to reach Temporal', () => started.length === 2);
      assert.equal(started[1], started[0], 'the second read joined the running run');
      gate.resolve();
      const [a, b] = await Promise.all([first, second]);
      assert.equal(a.statusCode, 200, a.body);
      assert.equal(b.body, a.body);
      assert.equal(readBindingCalls.filter((c) => c === id).length, 1, 'one run read the binding');
    } finally {
      gate.resolve();
      holds.delete(id);
      await shared.close();
    }
  });

  test('503 naming the task queue when no worker answers within the deadline', async () => {
    const id = await binding();
    const queue = `ops-nobody-${process.pid}-${Date.now()}`;
    const lonely = await buildApp({
      service: harness.service,
      operations: new OperationsService(
        harness.env.client,
        { ...harness.settings, taskQueue: queue },
        { inspectionTimeoutMs: 1500 },
      ),
      tokens,
    });
    try {
      const res = await lonely.inject({ url: `/v1/provisionings/${id}/access`, headers: as('viewer') });
      assert.equal(res.statusCode, 503, res.body);
      assert.match(res.json().detail, new RegExp(`task queue ${queue}`));
    } finally {
      await lonely.close();
      await harness.env.client.workflow.getHandle(`${id}.access`).terminate('test cleanup');
    }
  });

  test("the inspection's refusal is the answer: a binding that cannot be read yet is 409 with why", async () => {
    const id = await binding();
    failures.set(id, fatal(ErrorType.PreconditionFailed, `provisioning ${id} has no outputs yet: provision it first`));
    try {
      const res = await call('GET', `/v1/provisionings/${id}/access`);
      assert.equal(res.statusCode, 409, res.body);
      assert.match(res.json().detail, /has no outputs yet: provision it first/);
    } finally {
      failures.delete(id);
    }
    // Any other failure of the worker's reads is the upstream's: 502 with its words.
    const other = await binding();
    failures.set(other, fatal(ErrorType.Unauthorized, 'the worker may not read the cluster (AKS answered 403)'));
    try {
      const res = await call('GET', `/v1/provisionings/${other}/sample-workload`);
      assert.equal(res.statusCode, 502, res.body);
      assert.match(res.json().detail, /sample workload check failed: .*AKS answered 403/);
    } finally {
      failures.delete(other);
    }
  });
});

describe("the product's own day-2 workflows through these routes", () => {
  // The real operations with activity doubles and the real readBinding: the API and they agree on types, input,
  // the progress query and the answers' shapes.
  let product: ApiHarness;
  before(async () => {
    product = await startApiHarness({
      tokens,
      prefix: 'ops-product',
      overrides: { readBinding: createBindingActivities().readBinding },
    });
  });
  after(async () => {
    await product?.close();
  });
  const get = (url: string, headers = {}) => product.app.inject({ url, headers: { ...as('viewer'), ...headers } });

  test('validate (chain) runs to COMPLETED and reads like a provisioning; access and sample answer', async () => {
    const r = exampleRequest({ spec: uniqueSpec('opsreal') });
    r.cluster.name = `aks-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const started = await product.app.inject({
      method: 'POST',
      url: '/v1/provisionings',
      headers: as('operator'),
      payload: r,
    });
    assert.equal(started.statusCode, 202, started.body);
    const id = started.json().id as string;
    let body: Record<string, unknown> = {};
    const view = async (url: string, ok: (b: Record<string, unknown>) => boolean) =>
      pollUntil(
        url,
        async () => {
          const res = await get(url);
          body = res.json();
          return res.statusCode === 200 && ok(body) && body;
        },
        { intervalMs: 100, last: () => JSON.stringify(body).slice(0, 800) },
      );
    await view(`/v1/provisionings/${id}`, (b) => b.status === 'COMPLETED');
    const res = await product.app.inject({
      method: 'POST',
      url: `/v1/provisionings/${id}/validate`,
      headers: as('operator'),
      payload: { mode: 'chain' },
    });
    assert.equal(res.statusCode, 202, res.body);
    const done = await view(`/v1/operations/${id}.validate`, (b) => b.status !== 'RUNNING');
    assert.equal(done.status, 'COMPLETED', JSON.stringify(done));
    const steps = done.steps as { name: string; status: string }[];
    assert.equal(steps[0]?.name, 'readBinding');
    assert.ok(
      steps.some((s) => s.name === 'verifyChain' && s.status === 'succeeded'),
      JSON.stringify(steps),
    );

    const access = await get(`/v1/provisionings/${id}/access`);
    assert.equal(access.statusCode, 200, access.body);
    const report = access.json() as { bindingId: string; pools: { name: string }[] };
    assert.equal(report.bindingId, id);
    assert.ok(
      r.cluster.windowsNodePools.every((p) => report.pools.some((x) => x.name === p)),
      'every Windows pool of the request is in the report',
    );
    const sample = await get(`/v1/provisionings/${id}/sample-workload`, { accept: 'application/json' });
    assert.equal(sample.statusCode, 200, sample.body);
    const workload = sample.json() as { yaml: string; image: string };
    assert.match(workload.yaml, /kind: Deployment/);
    assert.ok(workload.yaml.includes(r.gmsa.credentialSpecName), "the YAML uses the binding's spec");
  });
});

test('the OpenAPI document describes every day-2 route', async () => {
  const doc = (await app.inject({ url: '/openapi.json' })).json();
  for (const p of [
    '/v1/provisionings/{id}/deprovision',
    '/v1/provisionings/{id}/rotate-password',
    '/v1/provisionings/{id}/repair',
    '/v1/provisionings/{id}/validate',
    '/v1/provisionings/{id}/access',
    '/v1/provisionings/{id}/sample-workload',
    '/v1/operations',
    '/v1/operations/{operationId}',
  ]) {
    assert.ok(doc.paths[p], `documents ${p}`);
  }
  const validate = doc.paths['/v1/provisionings/{id}/validate'].post;
  assert.deepEqual(validate.requestBody.content['application/json'].schema.required, ['mode']);
  const sample = doc.paths['/v1/provisionings/{id}/sample-workload'].get.responses['200'].content;
  assert.ok(sample['application/yaml'] && sample['application/json'], 'both representations of the sample');
});
