/**
 * Payload key rotation: a provisioning started while the ring held only key 1 finishes, and stays readable, after
 * the worker and the client move to a ring whose newest key is key 2.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { dataConverter, KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { createWorker } from '../../worker/create-worker.js';
import { approveAdStepUpdate, progressQuery } from '../../workflows/definitions.js';
import { activityDoubles } from '../../lab/activity-doubles.js';
import { pollUntil } from '../support/poll.js';
import { uniqueRequest } from '../support/requests.js';
import { devServerEnv, uniqueQueue, workflowBundle } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

const keyIds = (history: unknown): Set<string> => {
  const ids = new Set<string>();
  const walk = (n: unknown) => {
    if (!n || typeof n !== 'object' || n instanceof Uint8Array) return;
    const m = (n as { metadata?: Record<string, Uint8Array> }).metadata;
    const id = m?.['encryption-key-id'];
    if (id) ids.add(Buffer.from(id).toString());
    for (const v of Object.values(n)) walk(v);
  };
  walk(history);
  return ids;
};

test('a workflow started under key 1 completes and is readable after the move to key 2', async () => {
  const k1 = KeyRing.generateEntry('k1');
  const k2 = KeyRing.generateEntry('k2');
  const ring1 = KeyRing.parse(k1, 'test');
  const ring2 = KeyRing.parse(`${k1}\n${k2}`, 'test');
  const settings = {
    ...readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS }),
    taskQueue: uniqueQueue('rot'),
  };
  const bundle = await workflowBundle();
  const request = uniqueRequest('rot', { options: { requireAdApproval: true } });
  const client1 = new Client({ connection: env.connection, dataConverter: dataConverter(ring1) });
  const handle = await client1.workflow.start('provisionGmsa', {
    taskQueue: settings.taskQueue,
    workflowId: `rot-${request.gmsa.credentialSpecName}`,
    args: [request],
  });

  const before = await createWorker({
    connection: env.nativeConnection,
    settings,
    activities: activityDoubles().activities,
    keyRing: ring1,
    workflowBundle: bundle,
  });
  await before.runUntil(() =>
    pollUntil(
      'the approval wait under key 1',
      async () =>
        (await handle.query(progressQuery)).steps.find((s) => s.name === 'awaitAdApproval')?.status === 'waiting',
    ),
  );

  const client2 = new Client({ connection: env.connection, dataConverter: dataConverter(ring2) });
  const moved = client2.workflow.getHandle(handle.workflowId);
  const afterRotation = await createWorker({
    connection: env.nativeConnection,
    settings,
    activities: activityDoubles().activities,
    keyRing: ring2,
    workflowBundle: bundle,
  });
  const outputs = await afterRotation.runUntil(async () => {
    await moved.executeUpdate(approveAdStepUpdate, {
      args: [{ by: 'rotation-test', at: new Date().toISOString(), proof: 'p' }],
    });
    return moved.result();
  });
  assert.equal(outputs.credentialSpecName, request.gmsa.credentialSpecName);
  assert.equal(outputs.gmsaDn, `CN=${request.gmsa.name},CN=Managed Service Accounts,DC=contoso,DC=com`);
  assert.deepEqual(
    [...keyIds(await moved.fetchHistory())].sort(),
    ['k1', 'k2'],
    'the history holds payloads of both keys',
  );

  // A client that still has only key 1 cannot read what key 2 wrote: proof the new key really was used.
  await assert.rejects(
    client1.workflow.getHandle(handle.workflowId).result(),
    /key "k2", which is not in the key ring/,
  );
});
