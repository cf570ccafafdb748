/**
 * Status reads under load (issue 16): what `GET /v1/provisionings/{id}` and the list cost when many clients poll.
 * A throwaway dev server, the worker as a process of its own (bench/status/worker.ts, zero-latency activity
 * doubles) so its CPU time is measured apart, the API in this process on a real HTTP port, encrypted payloads, and
 * the clients in a process of their own (bench/status/clients.ts), each a keep-alive connection calling in a loop.
 * Half the runs completed, half running and waiting for approval. The API answers from views a moment old
 * (api/run-reader.ts's ages, printed with the figures).
 *
 *   npm run bench:status -- --clients 50 --runs 200 [--seconds 10]
 *   npm run bench:status -- --list-check     500 runs, pages of 50: every run once, newest first
 *
 * Prints p50, p99 and requests per second for one run's GET (completed and running apart too) and for the list
 * (each client following nextPageToken), and the CPU each process took during each phase: the API, the worker,
 * the Temporal server and the clients share this machine's cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../api/app.js';
import { TokenTable } from '../api/auth.js';
import { ProvisioningService } from '../api/provisioning-service.js';
import { CLOSED_READ_AGES, READ_AGES } from '../api/run-reader.js';
import type { ReadAges } from '../domain/shared-reads.js';
import { exampleRequest } from '../lab/example-request.js';
import { freePort, runningPid } from '../lab/process.js';
import { temporalLab } from '../lab/temporal.js';
import { dataConverter, KeyRing } from '../temporal/codec.js';
import { readTemporalSettings } from '../temporal/settings.js';
import { PROVISION_WORKFLOW } from '../workflows/definitions.js';
import { cpuSecondsOf } from './fleet/product.js';
import type { Phase, PhaseResult } from './status/clients.js';

const TOKEN = 'bench-operator-token-000000';
const QUEUE = 'bench-status';

const { values: opts } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    runs: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    'list-check': { type: 'boolean', default: false },
  },
});
const CLIENTS = Number(opts.clients);
const RUNS = opts['list-check'] ? 500 : Number(opts.runs);
const SECONDS = Number(opts.seconds);
if (!(CLIENTS >= 1 && RUNS >= 2 && SECONDS > 0)) throw new Error('--clients ≥ 1, --runs ≥ 2, --seconds > 0');

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
};
const figures = (xs: number[], seconds: number) =>
  `p50 ${pct(xs, 0.5).toFixed(1)} ms  p99 ${pct(xs, 0.99).toFixed(1)} ms  max ${Math.max(...xs).toFixed(1)} ms  ` +
  `${(xs.length / seconds).toFixed(0)} req/s (${xs.length} requests)`;

interface Api {
  url: string;
  call<T>(method: string, p: string, body?: unknown): Promise<T>;
}

function startWorker(address: string, keys: string): Promise<ChildProcess> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'status', 'worker.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, TEMPORAL_ADDRESS: address, BENCH_TASK_QUEUE: QUEUE, BENCH_KEYS: keys },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bench worker exited (${code}) before it was ready`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child);
    });
  });
}

async function post(api: Api, i: number, requireAdApproval: boolean) {
  const body = exampleRequest({ spec: `bench-${process.pid}-${i}`, options: { requireAdApproval } });
  // A cluster each: runs on one cluster queue at one scale set's coordinator, which is not what this measures.
  body.cluster.name = `aks-bench-${i}`;
  return api.call<{ id: string; runId: string }>('POST', '/v1/provisionings', body);
}

/** Runs one phase in the clients' process (bench/status/clients.ts). */
function load(clients: ChildProcess, phase: Phase): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    clients.once('message', (r) => resolve(r as PhaseResult));
    clients.once('exit', (code) => reject(new Error(`the bench clients exited (${code})`)));
    clients.send(phase);
  });
}

function startClients(): ChildProcess {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'status', 'clients.ts');
  return spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** CPU seconds so far of each process the reads cost: the API (this process), the worker, the server, the clients. */
type Cpu = Record<'api' | 'worker' | 'server' | 'clients', number>;
function cpuOf(pids: { worker?: number; server?: number; clients?: number }): Cpu {
  const { user, system } = process.cpuUsage();
  return {
    api: (user + system) / 1e6,
    worker: cpuSecondsOf(pids.worker) ?? NaN,
    server: cpuSecondsOf(pids.server) ?? NaN,
    clients: cpuSecondsOf(pids.clients) ?? NaN,
  };
}
const cpuLine = (a: Cpu, b: Cpu) =>
  (Object.keys(a) as (keyof Cpu)[]).map((k) => `${k} ${(((b[k] - a[k]) / SECONDS) * 100).toFixed(0)} %`).join(', ');

async function readBench(api: Api, worker: ChildProcess, client: Client, serverPid?: number): Promise<void> {
  // Started eight at a time: the setup is not what this measures.
  const ids: { id: string; running: boolean }[] = [];
  for (let i = 0; i < RUNS; i += 8) {
    const batch = Array.from({ length: Math.min(8, RUNS - i) }, (_, k) => i + k);
    ids.push(
      ...(await Promise.all(
        batch.map(async (n) => ({ id: (await post(api, n, n % 2 === 0)).id, running: n % 2 === 0 })),
      )),
    );
  }
  for (const r of ids.filter((r) => !r.running)) await client.workflow.getHandle(r.id).result();
  for (const r of ids.filter((r) => r.running)) {
    for (;;) {
      const v = await api.call<{ steps: { name: string; status: string }[] }>('GET', `/v1/provisionings/${r.id}`);
      if (v.steps.find((s) => s.name === 'awaitAdApproval')?.status === 'waiting') break;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  // One read of each completed run before measuring: its view is then the API's kept one, as in steady state.
  for (const r of ids.filter((r) => !r.running)) await api.call('GET', `/v1/provisionings/${r.id}`);

  const clients = startClients();
  const pids = { worker: worker.pid, server: serverPid, clients: clients.pid };
  const phase = { url: api.url, token: TOKEN, clients: CLIENTS, seconds: SECONDS };
  const cpu0 = cpuOf(pids);
  const reads = await load(clients, { ...phase, mode: 'get', paths: ids.map((r) => `/v1/provisionings/${r.id}`) });
  const cpu1 = cpuOf(pids);
  const lists = await load(clients, { ...phase, mode: 'list', paths: ['/v1/provisionings?limit=50'] });
  const cpu2 = cpuOf(pids);
  clients.disconnect();
  const of = (running: boolean) => reads.byPath.filter((_, i) => ids[i]!.running === running).flat();
  const errors = reads.errors + lists.errors;
  if (errors > 0) throw new Error(`${errors} reads failed`);

  console.log(
    `status reads: ${RUNS} runs (${RUNS / 2} completed, ${RUNS / 2} waiting for approval), ${CLIENTS} clients, ` +
      `${SECONDS} s per phase, encrypted payloads, ${os.cpus().length} cores`,
  );
  const ages = (a: ReadAges) => `${a.freshMs} ms fresh, ${a.maxAgeMs} ms at most`;
  console.log(`  answers from views: running ${ages(READ_AGES)}; closed ${ages(CLOSED_READ_AGES)}`);
  console.log(`  GET /v1/provisionings/{id}        ${figures(reads.byPath.flat(), SECONDS)}`);
  console.log(`    completed runs                  ${figures(of(false), SECONDS)}`);
  console.log(`    running runs                    ${figures(of(true), SECONDS)}`);
  console.log(`  GET /v1/provisionings?limit=50    ${figures(lists.byPath[0]!, SECONDS)}  (following nextPageToken)`);
  console.log(`  CPU, of one core, during the reads: ${cpuLine(cpu0, cpu1)}`);
  console.log(`  CPU, of one core, during the list:  ${cpuLine(cpu1, cpu2)}`);
}

/** 500 runs, paged by 50 while new runs start between pages: each seen once, newest first, none of the new. */
async function listCheck(api: Api, client: Client): Promise<boolean> {
  const runIds: string[] = [];
  for (let i = 0; i < RUNS; i++) runIds.push((await post(api, i, i % 2 === 0)).runId);
  for (;;) {
    const { count } = await client.workflow.count(`WorkflowType = '${PROVISION_WORKFLOW}'`);
    if (count >= RUNS) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  const seen: { runId: string; startedAt: string }[] = [];
  const added = new Set<string>();
  let token: string | undefined;
  let pages = 0;
  do {
    const page: { items: { runId: string; startedAt: string }[]; nextPageToken?: string } = await api.call(
      'GET',
      `/v1/provisionings?limit=50${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`,
    );
    seen.push(...page.items);
    token = page.nextPageToken;
    pages++;
    added.add((await post(api, RUNS + pages, false)).runId);
  } while (token);
  const duplicates = seen.length - new Set(seen.map((s) => s.runId)).size;
  const newer = seen.filter((s) => added.has(s.runId)).length;
  const exact = seen.map((s) => s.runId).join() === [...runIds].reverse().join();
  const sorted = seen.every((s, i) => i === 0 || seen[i - 1]!.startedAt >= s.startedAt);
  const order =
    exact && sorted ? 'order ok' : `order WRONG (${sorted ? 'sorted but not the start order' : 'unsorted'})`;
  console.log(
    `${seen.length} seen, ${duplicates} duplicates, ${order}: ${pages} pages of 50, ${newer} of the ${added.size} ` +
      'runs started between pages listed',
  );
  return seen.length === RUNS && duplicates === 0 && exact && sorted && newer === 0;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aks-gmsa-bench-'));
  const temporal = temporalLab({ port: await freePort(), headless: true, dir, dbFile: path.join(dir, 'db.sqlite') });
  const env = await temporal.start();
  let worker: ChildProcess | undefined;
  try {
    const keys = KeyRing.generateEntry('bench');
    const settings = { ...readTemporalSettings({ TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS }), taskQueue: QUEUE };
    const connection = await Connection.connect({ address: settings.address });
    const client = new Client({ connection, dataConverter: dataConverter(KeyRing.parse(keys, 'bench')) });
    worker = await startWorker(settings.address, keys);
    const app = await buildApp({
      service: new ProvisioningService(client, settings),
      tokens: TokenTable.parse(`operator:${TOKEN}`),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const api: Api = {
      url,
      async call<T>(method: string, p: string, body?: unknown): Promise<T> {
        const res = await fetch(`${url}${p}`, {
          method,
          headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await res.text();
        if (res.status >= 300) throw new Error(`${method} ${p} answered ${res.status}: ${text}`);
        return JSON.parse(text) as T;
      },
    };
    let ok = true;
    if (opts['list-check']) ok = await listCheck(api, client);
    else await readBench(api, worker, client, runningPid(path.join(dir, 'temporal.pid')));
    await app.close();
    await connection.close();
    return ok ? 0 : 1;
  } finally {
    worker?.kill('SIGKILL');
    await temporal.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
