/**
 * Engine overhead: what Temporal, the workflow and the API add when the activities themselves take no time.
 * A throwaway dev server, a worker over zero-latency activity doubles, the API on a real HTTP port.
 *
 *   npm run bench                  20 runs
 *   RUNS=50 npm run bench
 *
 * Prints the median time from POST /v1/provisionings to a completed workflow, and per activity the median
 * scheduled→started (queueing) and scheduled→completed (everything but the activity's own work) from the history.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { buildApp } from '../api/app.js';
import { TokenTable } from '../api/auth.js';
import { ProvisioningService } from '../api/provisioning-service.js';
import { freePort } from '../lab/process.js';
import { temporalLab } from '../lab/temporal.js';
import { dataConverter, KeyRing } from '../temporal/codec.js';
import { readTemporalSettings } from '../temporal/settings.js';
import { createWorker } from '../worker/create-worker.js';
import { activityDoubles } from '../lab/activity-doubles.js';
import { exampleRequest } from '../lab/example-request.js';

const RUNS = Number(process.env.RUNS ?? 20);
const TOKEN = 'bench-operator-token-000000';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (t?: { seconds?: unknown; nanos?: number | null } | null) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aks-gmsa-bench-'));
  const temporal = temporalLab({ port: await freePort(), headless: true, dir, dbFile: path.join(dir, 'db.sqlite') });
  const env = await temporal.start();
  try {
    const settings = { ...readTemporalSettings({ TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS }), taskQueue: 'bench' };
    const connection = await Connection.connect({ address: settings.address });
    // Payloads encrypted as in production: the codec is part of the engine's cost.
    const keyRing = KeyRing.parse(KeyRing.generateEntry('bench'), 'bench');
    const client = new Client({ connection, dataConverter: dataConverter(keyRing) });
    const worker = await createWorker({ settings, activities: activityDoubles().activities, keyRing });
    const app = await buildApp({
      service: new ProvisioningService(client, settings),
      tokens: TokenTable.parse(`operator:${TOKEN}`),
    });
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });

    const totals: number[] = [];
    const queued = new Map<string, number[]>();
    const engine = new Map<string, number[]>();
    await worker.runUntil(async () => {
      for (let i = -2; i < RUNS; i++) {
        // Two warm-up runs: the first workflow task of a fresh worker pays for loading the bundle.
        const body = exampleRequest({ spec: `bench-${process.pid}-${i + 2}` });
        const t0 = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/v1/provisionings`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
        const { id } = (await res.json()) as { id: string };
        const handle = client.workflow.getHandle(id);
        await handle.result();
        const elapsed = performance.now() - t0;
        if (i < 0) continue;
        totals.push(elapsed);
        const events = (await handle.fetchHistory()).events ?? [];
        const byId = new Map(events.map((e) => [Number(e.eventId), e]));
        for (const e of events) {
          const done = e.activityTaskCompletedEventAttributes;
          if (!done) continue;
          const scheduled = byId.get(Number(done.scheduledEventId));
          const started = byId.get(Number(done.startedEventId));
          const name = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
          (queued.get(name) ?? queued.set(name, []).get(name)!).push(ms(started?.eventTime) - ms(scheduled?.eventTime));
          (engine.get(name) ?? engine.set(name, []).get(name)!).push(ms(e.eventTime) - ms(scheduled?.eventTime));
        }
      }
    });
    await app.close();
    await connection.close();

    const allEngine = [...engine.values()].flat();
    console.log(
      `engine overhead, ${RUNS} provisionings, zero-latency activities, encrypted payloads, ${os.cpus().length} cores`,
    );
    console.log(
      `  POST → workflow completed      median ${median(totals).toFixed(1)} ms  (min ${Math.min(...totals).toFixed(1)}, max ${Math.max(...totals).toFixed(1)})`,
    );
    console.log(
      `  per activity, scheduled→completed  median ${median(allEngine).toFixed(2)} ms over ${allEngine.length} activities`,
    );
    console.log(`  per activity, scheduled→started    median ${median([...queued.values()].flat()).toFixed(2)} ms`);
    // The longest chain: ensureKeyVault → storeUserSecret → ensureDomainUser → ensureGmsa → ensureCredentialSpec → verifyChain.
    console.log(`  per step of the 6-step critical path  ${(median(totals) / 6).toFixed(1)} ms (wall / chain length)`);
    console.log('  activity                  scheduled→started  scheduled→completed (median ms)');
    for (const [name, xs] of [...engine.entries()].sort()) {
      console.log(
        `  ${name.padEnd(26)}${median(queued.get(name)!).toFixed(2).padStart(10)}${median(xs).toFixed(2).padStart(20)}`,
      );
    }
  } finally {
    await temporal.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
