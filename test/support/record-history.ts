/**
 * Records the committed replay fixture: one provisioning on a real dev server with activity doubles, covering a
 * retried step, the KDS wait ended by the approval signal, and every other step. Rerun only on purpose, when a
 * workflow change is meant to be incompatible (and old runs are handled, e.g. with patched()).
 *
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 npx tsx test/support/record-history.ts
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { temporalBinary } from '../../lab/temporal.js';
import { transient } from '../../contract/errors.js';
import { approveAdStepSignal, progressQuery } from '../../workflows/definitions.js';
import { activityDoubles, doubleResult } from './activity-doubles.js';
import { pollUntil } from './poll.js';
import { exampleRequest } from './requests.js';
import { devServerEnv, uniqueQueue, workflowBundle } from './temporal.js';

export const FIXTURE = new URL('../fixtures/histories/provision-retry-approval.json', import.meta.url);

const env = await devServerEnv();
let attempts = 0;
const { activities } = activityDoubles({
  getDomainFacts: async (input) => {
    if (++attempts === 1) throw transient('LDAP server busy');
    return doubleResult('getDomainFacts', input);
  },
  ensureKdsRootKey: async () => ({ keyId: 'k1', usableAt: new Date(Date.now() + 36e6).toISOString(), created: true }),
});
const taskQueue = uniqueQueue('record');
const worker = await Worker.create({
  connection: env.nativeConnection,
  taskQueue,
  workflowBundle: await workflowBundle(),
  activities,
});
const request = exampleRequest({ spec: 'replay-fixture' });
const handle = await env.client.workflow.start('provisionGmsa', {
  taskQueue,
  workflowId: `record-${Date.now()}`,
  args: [request],
});
await worker.runUntil(async () => {
  await pollUntil(
    'the approval wait',
    async () =>
      (await handle.query(progressQuery)).steps.find((s) => s.name === 'awaitAdApproval')?.status === 'waiting',
  );
  await handle.signal(approveAdStepSignal, { by: 'recorder' });
  await handle.result();
});
// The CLI's JSON is the format the Temporal UI exports and Worker.runReplayHistory reads.
const json = execFileSync(temporalBinary('cli'), [
  'workflow',
  'show',
  '--address',
  process.env.TEMPORAL_ADDRESS!,
  '--workflow-id',
  handle.workflowId,
  '--output',
  'json',
]);
writeFileSync(FIXTURE, json);
console.log(`wrote ${FIXTURE.pathname}`);
await env.teardown();
