/**
 * Chaos: the Temporal dev server killed (SIGKILL) mid-run and started again on the same SQLite file (issue 13). The
 * case runs a dev server of its own on a free loopback port (the runner's shared one serves every other file), a
 * worker process on it, and one provisioning whose vault create is held in the ARM fake, so the run is known to be
 * mid-step when the server dies. After the restart the run must complete, with nothing made twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Connection } from '@temporalio/client';
import type { ProvisionRequest } from '../../domain/request.js';
import type { LabPart } from '../../lab/part.js';
import { freePort, runningPid } from '../../lab/process.js';
import { temporalLab } from '../../lab/temporal.js';
import { mark, requestsSince, seedCluster, withOverride } from '../support/azure-lab.js';
import {
  assertNothingTwice,
  expectAllComplete,
  progressNow,
  removeRuns,
  reportRecovery,
  timeToProgress,
} from '../support/chaos.js';
import { labRequest, runTag, startE2eLab, type E2eLab, type WorkerProcess } from '../support/e2e-lab.js';
import { pollUntil } from '../support/poll.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'aks-gmsa-chaos-temporal-'));
let server: LabPart;
let lab: E2eLab | undefined;
let worker: WorkerProcess | undefined;
const made: { request: ProvisionRequest; id: string; nodeResourceGroup: string }[] = [];

/** The port opens before the frontend serves ("Frontend is not healthy yet"): until a call answers. */
async function answers(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 }).catch(() => undefined);
  if (!connection) return false;
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

before(async () => {
  server = temporalLab({ port: await freePort(), headless: true, dir, dbFile: path.join(dir, 'db.sqlite') });
  // This file's own server: everything here (the lab's client, the worker process) talks to it.
  Object.assign(process.env, await server.start());
  await pollUntil('the dev server of this case to answer', () => answers(process.env.TEMPORAL_ADDRESS!), {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  lab = await startE2eLab({ prefix: 'chaos-temporal', worker: 'none' });
});

after(async () => {
  try {
    await worker?.kill();
    if (lab) await removeRuns(lab, made);
  } finally {
    await lab?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'the Temporal server killed mid-run and restarted on its database: the run completes',
  { timeout: 300_000 },
  async () => {
    assert.ok(lab);
    worker = await lab.workerProcess();
    const cluster = await seedCluster();
    const request = labRequest(cluster, runTag());
    const vault = request.azure.keyVault.name;
    const since = await mark();

    await withOverride({ pathIncludes: vault, op: 'PUT vaults', hold: true }, async (hold) => {
      const id = await lab!.start(request);
      made.push({ request, id, nodeResourceGroup: cluster.nodeResourceGroup });
      await pollUntil(
        'the vault create to be accepted and held',
        async () =>
          (await requestsSince(since, `/vaults/${vault}`)).some((r) => r.method === 'PUT' && r.status === 201),
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      const baseline = await progressNow(lab!, [id]);

      const pid = runningPid(path.join(dir, 'temporal.pid'));
      assert.ok(pid, 'the dev server of this case is running');
      const killedAt = Date.now();
      process.kill(-pid, 'SIGKILL');
      await pollUntil('the dev server to be gone', () => runningPid(path.join(dir, 'temporal.pid')) === undefined, {
        timeoutMs: 10_000,
      });
      await server.start(); // same port, same database file
      const downMs = Date.now() - killedAt;
      await hold.release();
      const ms = await timeToProgress(lab!, baseline, killedAt);
      reportRecovery('temporal-restart', ms, `server down ${(downMs / 1000).toFixed(1)} s`);
      await expectAllComplete(lab!, [id]);
    });
    await assertNothingTwice(lab, since, cluster, [request]);
  },
);
