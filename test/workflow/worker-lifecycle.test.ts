/**
 * The worker's life: a bad setting stops it at start naming the variable; SIGTERM stops it cleanly; an activity
 * in flight at shutdown finishes within the grace period instead of being lost.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Context } from '@temporalio/activity';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../../lab/paths.js';
import { KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { createWorker } from '../../worker/create-worker.js';
import { progressQuery } from '../../workflows/definitions.js';
import { activityDoubles, doubleResult } from '../../lab/activity-doubles.js';
import { deferred, pollUntil, within } from '../support/poll.js';
import { exampleRequest, uniqueSpec } from '../support/requests.js';
import { devServerEnv, uniqueQueue, workflowBundle } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

/** Runs worker/main.ts with `extra` settings; resolves with its exit code and output once it exits. */
function runWorkerProcess(
  extra: NodeJS.ProcessEnv,
  whileRunning?: (pid: number, output: () => string) => Promise<void>,
) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker/main.ts')], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GMSA_CODEC_KEYS: KeyRing.generateEntry('t1'), ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out })),
  );
  if (whileRunning) void whileRunning(child.pid!, () => out).catch(() => child.kill('SIGKILL'));
  return exited;
}

describe('worker process', () => {
  test('a bad setting stops it at start with the variable named', async () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ TEMPORAL_ADDRESS: 'no-port-here' }, /TEMPORAL_ADDRESS: must be host:port/],
      [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: must be one of/],
      [{ GMSA_CODEC_KEYS: '' }, /GMSA_CODEC_KEYS_FILE: is required: payloads are encrypted/],
      [{ GMSA_CODEC_KEYS: 'k1:c2hvcnQ=' }, /GMSA_CODEC_KEYS: key k1 must be 32 bytes/],
      [{ AD_URL: 'http://dc1:389' }, /AD_URL: must start with ldaps:\/\//],
      [{ AD_URL: 'ldaps://dc1:636', AD_BIND_USER: 'admin' }, /AD_BIND_PASSWORD or AD_BIND_PASSWORD_FILE/],
    ];
    for (const [settings, message] of cases) {
      const { code, out } = await runWorkerProcess(settings);
      assert.equal(code, 2, `exit code for ${JSON.stringify(settings)}: ${out}`);
      assert.match(out, message);
    }
  });

  test('a namespace without the search attributes stops it at start, naming them and how to register them', async () => {
    const namespace = `no-attributes-${process.pid}-${Date.now()}`;
    await env.connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    // A new namespace reaches the frontend's cache within seconds.
    await pollUntil('the namespace to be served', () =>
      env.connection.operatorService.listSearchAttributes({ namespace }).then(
        () => true,
        () => undefined,
      ),
    );
    const { code, out } = await runWorkerProcess({
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: namespace,
      GMSA_TASK_QUEUE: uniqueQueue('attrs'),
    });
    assert.equal(code, 2, out);
    assert.match(out, new RegExp(`namespace ${namespace} lacks the search attributes GmsaCluster, .*GmsaPhase`));
    assert.match(
      out,
      new RegExp(`temporal operator search-attribute create --namespace ${namespace} --name GmsaPhase`),
    );
    assert.doesNotMatch(out, /worker started/);
  });

  test('SIGTERM stops a running worker cleanly', async () => {
    const { code, out } = await runWorkerProcess(
      { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS, GMSA_TASK_QUEUE: uniqueQueue('proc') },
      async (pid, output) => {
        await pollUntil('the worker to start', () => output().includes('worker started'), {
          timeoutMs: 60_000,
          last: output,
        });
        process.kill(pid, 'SIGTERM');
      },
    );
    assert.equal(code, 0, out);
    assert.match(out, /worker stopped/);
  });
});

test('an activity in flight at shutdown finishes within the grace period; another worker completes the run', async () => {
  const taskQueue = uniqueQueue('grace');
  const settings = { ...readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS }), taskQueue };
  // The activity holds until the worker is shutting down: it is in flight at shutdown by construction, not by timing.
  const started = deferred();
  const release = deferred();
  let finished = false;
  const slow = activityDoubles({
    getDomainFacts: async (input) => {
      started.resolve();
      // Like a real activity it stops when told to: a worker that cancelled it at shutdown fails this test.
      await Promise.race([release.promise, Context.current().cancelled]);
      finished = true;
      return doubleResult('getDomainFacts', input);
    },
  });
  const bundle = await workflowBundle();
  const first = await createWorker({
    connection: env.nativeConnection,
    settings,
    activities: slow.activities,
    workflowBundle: bundle,
    shutdownGraceSeconds: 10,
  });
  const request = exampleRequest({ spec: uniqueSpec('grace') });
  const handle = await env.client.workflow.start('provisionGmsa', {
    taskQueue,
    workflowId: `grace-${request.gmsa.credentialSpecName}`,
    args: [request],
  });
  const releasedDuringShutdown = pollUntil('the first worker to begin its shutdown', () =>
    first.getState() === 'RUNNING' || first.getState() === 'INITIALIZED' ? undefined : first.getState(),
  ).then((state) => {
    release.resolve();
    return state;
  }, release.reject);
  // Shut down only once the activity really runs on this worker.
  await first.runUntil(() => within(started.promise, 'getDomainFacts to start on the first worker'));
  assert.notEqual(await releasedDuringShutdown, 'STOPPED', 'released while the worker was still shutting down');
  // runUntil shut the first worker down while getDomainFacts was still running: it must have run to its end.
  assert.ok(finished, 'the in-flight activity ran to completion during shutdown');
  const second = await createWorker({
    connection: env.nativeConnection,
    settings,
    activities: activityDoubles().activities,
    workflowBundle: bundle,
  });
  const progress = await second.runUntil(async () => {
    await handle.result();
    return handle.query(progressQuery);
  });
  assert.equal(progress.steps.find((s) => s.name === 'getDomainFacts')?.status, 'succeeded');
  // The server's record: the attempt that completed getDomainFacts was its first, so it was not run again.
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === 'getDomainFacts');
  const factsStarted = events.find(
    (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
  );
  assert.equal(factsStarted?.activityTaskStartedEventAttributes?.attempt, 1, 'the finished attempt was not run again');
  assert.equal(slow.calls.filter((c) => c.name === 'getDomainFacts').length, 1);
});
