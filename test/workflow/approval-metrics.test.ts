/**
 * The approval wait as metrics, read where Prometheus reads them: a worker on a runtime of this process with the
 * SDK's Prometheus exporter on a loopback port, a provisioning held waiting for approval, then approved. The
 * counter counts the wait once and the histogram holds how long it lasted, by cluster. Own file, own process: the
 * runtime is installed once, before anything else of Temporal's (so not test/support/temporal.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { activityDoubles } from '../../lab/activity-doubles.js';
import { freePort } from '../../lab/process.js';
import { FAILURE_CONVERTER_PATH } from '../../temporal/codec.js';
import { WORKFLOWS_PATH } from '../../worker/create-worker.js';
import { approveAdStepUpdate, progressQuery } from '../../workflows/definitions.js';
import { pollUntil } from '../support/poll.js';
import { exampleRequest } from '../support/requests.js';

const metricsPort = await freePort();
Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } },
});

/** The value of one series of `name` whose labels include `cluster="<cluster>"`; undefined when absent. */
function series(text: string, name: string, cluster: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`cluster="${cluster}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('a wait for approval is counted once and timed until the approval, by cluster', async () => {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: no Temporal dev server. Run the tests with `npm test`.');
  const cluster = `aks-metrics-${randomBytes(4).toString('hex')}`;
  const request = exampleRequest({ spec: `metrics-${cluster}`, options: { requireAdApproval: true } });
  request.cluster.name = cluster;
  const taskQueue = `approval-metrics-${process.pid}`;
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const noop = () => {};
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop },
    }),
    activities: activityDoubles().activities,
  });
  const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const held = 2_000;
  try {
    await worker.runUntil(async () => {
      const h = await client.workflow.start('provisionGmsa', {
        taskQueue,
        workflowId: `approval-metrics-${cluster}`,
        args: [request],
      });
      await pollUntil('the approval wait', async () =>
        (await h.query(progressQuery)).steps.some((s) => s.name === 'awaitAdApproval' && s.status === 'waiting'),
      );
      const waiting = await scrape();
      assert.equal(series(waiting, 'gmsa_approval_waits', cluster), 1, 'counted when the wait began');
      assert.equal(series(waiting, 'gmsa_approval_wait_seconds_count', cluster), undefined, 'not approved yet');
      await delay(held);
      await h.executeUpdate(approveAdStepUpdate, {
        args: [{ by: 'ops', at: new Date().toISOString(), proof: 'signed' }],
      });
      await h.result();
    });
    const done = await scrape();
    assert.equal(series(done, 'gmsa_approval_waits', cluster), 1, 'still one wait: nothing counted twice');
    assert.equal(series(done, 'gmsa_approval_wait_seconds_count', cluster), 1);
    const seconds = series(done, 'gmsa_approval_wait_seconds_sum', cluster)!;
    assert.ok(seconds >= held / 1000 && seconds < 120, `the wait lasted ${seconds} s`);
  } finally {
    await connection.close();
    await client.connection.close();
  }
});
