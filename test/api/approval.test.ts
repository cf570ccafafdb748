/**
 * Only the API's approver approves, and the worker takes only encrypted input, on the real Temporal dev server: a
 * worker with the product's data converter (strict codec, encoded failures) and the real approval check, the
 * workflow as it is, activity doubles for the outside systems, and the API over a client with the codec. What a
 * plain client (the `temporal` CLI: no codec, no token) sends is refused; the API's approve counts; a run of the
 * build before the update gets the signal it waits for; the raw history holds no failure's words.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type ProtoFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { createApprovalActivities } from '../../activities/approval.js';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import { generateApprovalKey } from '../../config/approval-key.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import { signApproval } from '../../temporal/approval-proof.js';
import { dataConverter, FAILURE_CONVERTER_PATH, KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { createWorker } from '../../worker/create-worker.js';
import { approveAdStepUpdate, PROVISION_WORKFLOW } from '../../workflows/definitions.js';
import { activityDoubles, type Overrides } from '../../lab/activity-doubles.js';
import { pollUntil } from '../support/poll.js';
import { exampleRequest, uniqueSpec } from '../support/requests.js';
import { devServerEnv, historyOf, uniqueQueue, workflowBundle, type HistoryEvent } from '../support/temporal.js';

const TOKENS = {
  viewer: 'approval-viewer-token-0123456789',
  operator: 'approval-operator-token-0123456789',
  approver: 'approval-approver-token-0123456789',
};
const tokens = TokenTable.parse(
  `viewer:${TOKENS.viewer},operator:${TOKENS.operator},approver:alice:${TOKENS.approver}`,
);
const as = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` });
const newKey = () => Buffer.from(generateApprovalKey(), 'base64');

let env: TestWorkflowEnvironment;
/** What the `temporal` CLI is: a client without the codec. */
let plain: Client;
before(async () => {
  env = await devServerEnv();
  plain = env.client;
});
after(async () => {
  await env?.teardown();
});

interface Stack {
  app: Awaited<ReturnType<typeof buildApp>>;
  client: Client;
  /** The failure's own words, as a client with the codec reads them from an event's failure. */
  failureMessage(failure: ProtoFailure | null | undefined): Promise<string>;
  taskQueue: string;
  close(): Promise<void>;
}

/**
 * The API and a worker on a queue of their own, sharing a key ring; the API signs with `apiKey`, the worker checks
 * with `workerKey` (the same key unless a test says otherwise).
 */
async function stack(o: {
  apiKey?: Buffer;
  workerKey?: Buffer | null;
  overrides?: Overrides;
  bundle?: Parameters<typeof createWorker>[0]['workflowBundle'];
}): Promise<Stack> {
  const ring = KeyRing.parse(KeyRing.generateEntry('approval-1'), 'test');
  const apiKey = o.apiKey ?? newKey();
  const workerKey = o.workerKey === undefined ? apiKey : (o.workerKey ?? undefined);
  const taskQueue = uniqueQueue('approval');
  const settings = { ...readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS }), taskQueue };
  const worker: Worker = await createWorker({
    connection: env.nativeConnection,
    settings,
    activities: activityDoubles({
      verifyApproval: createApprovalActivities(workerKey).verifyApproval,
      ...o.overrides,
    }).activities,
    keyRing: ring,
    workflowBundle: o.bundle ?? (await workflowBundle()),
  });
  const running = worker.run();
  const converter = dataConverter(ring);
  const client = new Client({ connection: env.connection, dataConverter: converter });
  const app = await buildApp({
    service: new ProvisioningService(client, settings, { approvalKey: apiKey, approvalTimeoutMs: 10_000 }),
    tokens,
    codec: converter.payloadCodecs[0],
  });
  return {
    app,
    client,
    taskQueue,
    async failureMessage(failure) {
      assert.ok(failure, 'a failure');
      const [attrs] = await converter.payloadCodecs[0]!.decode([failure.encodedAttributes!]);
      return (defaultPayloadConverter.fromPayload(attrs!) as { message: string }).message;
    },
    async close() {
      worker.shutdown();
      await running;
      await app.close();
    },
  };
}

function request(o: Parameters<typeof exampleRequest>[0] = {}) {
  const r = exampleRequest({ spec: uniqueSpec('appr'), ...o });
  r.cluster.name = `aks-appr-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  return r;
}

async function start(s: Stack, o: Parameters<typeof exampleRequest>[0] = { options: { requireAdApproval: true } }) {
  const res = await s.app.inject({
    method: 'POST',
    url: '/v1/provisionings',
    headers: as('operator'),
    payload: request(o),
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().id as string;
}

async function view(s: Stack, id: string): Promise<Record<string, unknown>> {
  const res = await s.app.inject({ url: `/v1/provisionings/${id}`, headers: as('viewer') });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

async function waitFor(s: Stack, id: string, ok: (v: Record<string, unknown>) => boolean, what: string) {
  let last: Record<string, unknown> = {};
  return pollUntil(
    what,
    async () => {
      last = await view(s, id);
      return ok(last) && last;
    },
    { intervalMs: 100, last: () => JSON.stringify(last).slice(0, 600) },
  );
}

const waiting = (v: Record<string, unknown>) =>
  (v.steps as { name: string; status: string }[]).some(
    (st) => st.name === 'awaitAdApproval' && st.status === 'waiting',
  );

const approve = (s: Stack, id: string, comment?: string) =>
  s.app.inject({
    method: 'POST',
    url: `/v1/provisionings/${id}/approve`,
    headers: as('approver'),
    payload: comment ? { comment } : {},
  });

/** Every event as the server stores it, as text: what anyone reading the database sees. */
const raw = (events: HistoryEvent[]) => JSON.stringify(events);

describe('approving', () => {
  test("the API's approve with the approver token counts: the run completes, approved by the approver", async () => {
    const s = await stack({});
    try {
      const id = await start(s);
      await waitFor(s, id, waiting, 'the approval wait');
      const res = await approve(s, id, 'key replicated');
      assert.equal(res.statusCode, 202, res.body);
      const done = await waitFor(s, id, (v) => v.status === 'COMPLETED', 'completion after approval');
      assert.deepEqual(
        { ...(done.approval as object), at: undefined },
        { by: 'alice', comment: 'key replicated', at: undefined },
      );
      // The history holds the update's proof and the approver's name only as ciphertext.
      const events = await historyOf(plain.workflow.getHandle(id));
      assert.ok(
        events.some((e) => e.workflowExecutionUpdateCompletedEventAttributes),
        'approved through the update',
      );
      assert.ok(!raw(events).includes('key replicated'), 'the comment is encrypted in the history');
    } finally {
      await s.close();
    }
  });

  test('a plaintext approveAdStep signal, as the plain `temporal` CLI sends it, does not approve', async () => {
    const s = await stack({});
    try {
      const id = await start(s);
      await waitFor(s, id, waiting, 'the approval wait');
      await plain.workflow.getHandle(id).signal('approveAdStep', { by: 'mallory' });
      // The worker refuses the payload: the workflow task that carries the signal fails with the codec's words.
      const events = await pollUntil('the worker to refuse the signal', async () => {
        const events = await historyOf(plain.workflow.getHandle(id));
        return events.some((e) => e.workflowTaskFailedEventAttributes) && events;
      });
      const failed = events.find((e) => e.workflowTaskFailedEventAttributes)!.workflowTaskFailedEventAttributes!;
      assert.equal(failed.failure?.message, 'Encoded failure', 'the reason is encrypted too');
      assert.match(await s.failureMessage(failed.failure), /refused an unencrypted payload \(encoding "json\/plain"\)/);
      // Every retry of that workflow task meets the same signal in the history, so the run stays on it: it never
      // approves, and an approval through the API afterwards gets 503 (no worker takes it) until the run is reset.
      const handle = s.client.workflow.getHandle(id);
      assert.equal((await handle.describe()).status.name, 'RUNNING', 'not approved, not completed');
      assert.ok(
        !events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'ensureDomainUser'),
        'no AD step ran',
      );
      await handle.terminate('test: stuck on the refused signal');
    } finally {
      await s.close();
    }
  });

  test('an approval signal encoded through /codec/encode: a viewer cannot; an operator can, and it still does not approve', async () => {
    const s = await stack({});
    try {
      const id = await start(s);
      await waitFor(s, id, waiting, 'the approval wait');
      const p = defaultPayloadConverter.toPayload({ by: 'mallory' });
      const body = {
        payloads: [
          {
            metadata: { encoding: Buffer.from(p.metadata!.encoding!).toString('base64') },
            data: Buffer.from(p.data!).toString('base64'),
          },
        ],
      };
      const encode = (role: keyof typeof TOKENS) =>
        s.app.inject({ method: 'POST', url: '/codec/encode', headers: as(role), payload: body });
      assert.equal((await encode('viewer')).statusCode, 403);
      const encoded = await encode('operator');
      assert.equal(encoded.statusCode, 200);
      // Sent raw, as `temporal workflow signal` would with that payload: the worker decrypts it; the workflow
      // takes a bare signal for nothing.
      const [payload] = encoded.json().payloads as { metadata: Record<string, string>; data: string }[];
      await plain.workflowService.signalWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: id },
        signalName: 'approveAdStep',
        input: {
          payloads: [
            {
              metadata: Object.fromEntries(
                Object.entries(payload!.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
              ),
              data: Buffer.from(payload!.data, 'base64'),
            },
          ],
        },
      });
      await pollUntil('the signal to be processed', async () => {
        const events = await historyOf(plain.workflow.getHandle(id));
        const signalled = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
        return signalled >= 0 && events.slice(signalled).some((e) => e.workflowTaskCompletedEventAttributes);
      });
      const v = await view(s, id);
      assert.equal(v.status, 'RUNNING');
      assert.equal(v.approval, undefined, 'the bare signal did not approve');
      assert.ok(waiting(v), 'still waiting for the approval');
      // The run is healthy: the API's approve still works.
      assert.equal((await approve(s, id)).statusCode, 202);
      const done = await waitFor(s, id, (x) => x.status === 'COMPLETED', 'completion after approval');
      assert.equal((done.approval as { by: string }).by, 'alice');
    } finally {
      await s.close();
    }
  });

  test('an update with a forged proof, or signed with another key, is refused: the update fails, the API says 409', async () => {
    const s = await stack({ apiKey: newKey(), workerKey: newKey() });
    try {
      const id = await start(s);
      await waitFor(s, id, waiting, 'the approval wait');
      const handle = s.client.workflow.getHandle(id);
      await assert.rejects(
        handle.executeUpdate(approveAdStepUpdate, { args: [signApproval(newKey(), id, { by: 'mallory' })] }),
        (e: unknown) => /approval refused: the proof does not match/.test(String((e as Error).cause)),
      );
      const res = await approve(s, id);
      assert.equal(res.statusCode, 409, res.body);
      assert.match(res.json().detail, /^the run refused the approval: approval refused: the proof does not match/);
      const v = await view(s, id);
      assert.equal(v.approval, undefined);
      assert.ok(waiting(v));
      // An ill-shaped one is refused by the validator, before anything is recorded.
      await assert.rejects(
        handle.executeUpdate(approveAdStepUpdate, { args: [{ by: 'mallory' } as never] }),
        (e: unknown) => /an approval carries by, at and the proof/.test(String((e as Error).cause)),
      );
      await handle.cancel();
    } finally {
      await s.close();
    }
  });

  test('a worker without an approval key refuses every approval, naming GMSA_APPROVAL_KEY: 409', async () => {
    const s = await stack({ workerKey: null });
    try {
      const id = await start(s);
      await waitFor(s, id, waiting, 'the approval wait');
      const res = await approve(s, id);
      assert.equal(res.statusCode, 409, res.body);
      assert.match(res.json().detail, /the worker has no GMSA_APPROVAL_KEY/);
      await s.client.workflow.getHandle(id).cancel();
    } finally {
      await s.close();
    }
  });

  test('a run of the build before the update (no handler for it) is approved with the signal it waits for', async () => {
    const old = await bundleWorkflowCode({
      workflowsPath: path.join(path.dirname(fileURLToPath(import.meta.url)), 'old-build-workflows.ts'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
    });
    const s = await stack({ bundle: old });
    try {
      const id = await start(s);
      await waitFor(s, id, waiting, 'the approval wait');
      const res = await approve(s, id, 'old run');
      assert.equal(res.statusCode, 202, res.body);
      const done = await waitFor(s, id, (v) => v.status === 'COMPLETED', 'the old run to complete');
      assert.deepEqual(
        { ...(done.approval as object), at: undefined },
        { by: 'alice', comment: 'old run', at: undefined },
      );
      const events = await historyOf(plain.workflow.getHandle(id));
      assert.ok(
        events.some((e) => e.workflowExecutionSignaledEventAttributes),
        'approved by the signal',
      );
    } finally {
      await s.close();
    }
  });
});

describe('only encrypted input, only encrypted failures', () => {
  test('a plaintext start on the worker task queue is refused: nothing runs', async () => {
    const s = await stack({});
    try {
      const r = request();
      const handle = await plain.workflow.start(PROVISION_WORKFLOW, {
        taskQueue: s.taskQueue,
        workflowId: `plain-${r.gmsa.credentialSpecName}`,
        args: [r],
      });
      const events = await pollUntil('the worker to refuse the start', async () => {
        const events = await historyOf(handle);
        return events.some((e) => e.workflowTaskFailedEventAttributes) && events;
      });
      const failed = events.find((e) => e.workflowTaskFailedEventAttributes)!.workflowTaskFailedEventAttributes!;
      assert.match(await s.failureMessage(failed.failure), /refused an unencrypted payload \(encoding "json\/plain"\)/);
      assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes), 'no step was scheduled');
      await handle.terminate('test: refused start');
    } finally {
      await s.close();
    }
  });

  test("the raw history of a failed run holds no failure's words; the API still reads them", async () => {
    const words = 'vault kv-secret-words-4711 refused the operation';
    const s = await stack({
      overrides: {
        ensureKeyVault: async () => {
          throw fatal(ErrorType.Conflict, words);
        },
      },
    });
    try {
      const id = await start(s, {});
      const failed = await waitFor(s, id, (v) => v.status === 'FAILED', 'the run to fail');
      assert.match(String(failed.error), /kv-secret-words-4711/, 'the API decrypts the failure');
      const events = await historyOf(plain.workflow.getHandle(id));
      assert.ok(
        events.some((e) => e.activityTaskFailedEventAttributes),
        'the step failed in the history',
      );
      assert.ok(
        events.some((e) => e.workflowExecutionFailedEventAttributes),
        'the run failed in the history',
      );
      assert.ok(!raw(events).includes('kv-secret-words-4711'), 'no failure message in plaintext');
      assert.match(raw(events), /Encoded failure/);
    } finally {
      await s.close();
    }
  });
});
