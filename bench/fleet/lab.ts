/**
 * What the fleet bench runs against, started by the bench and stopped by it: its own Temporal dev server (own port
 * and database), the Azure fake under a private lab directory (so its world, knobs and request log are this
 * bench's alone), the shared Samba DC and kube-apiserver (reused when up, never stopped then: their ports are
 * fixed or remembered per lab), then the API and the workers as processes with the lab's settings and fresh
 * tokens, payload key and approval key.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { generateApprovalKey } from '../../config/approval-key.js';
import { azureAdmin, type AzureLabSettings } from '../../lab/azure/admin-client.js';
import { kubernetesLab } from '../../lab/kubernetes/index.js';
import type { LabPart } from '../../lab/part.js';
import { PROJECT_ROOT } from '../../lab/paths.js';
import { freePort, runningPid } from '../../lab/process.js';
import { sambaLab } from '../../lab/samba/index.js';
import { TemporalExited, temporalLab } from '../../lab/temporal.js';
import { dataConverter, KeyRing } from '../../temporal/codec.js';
import type { FleetOptions } from './options.js';
import { ProductProcess, workerReady } from './product.js';

export const TASK_QUEUE = 'aks-gmsa-fleet';

/**
 * The worker's V8 heap limit, as the image sets it (Dockerfile NODE_OPTIONS): a worker with 200 runs in flight
 * holds about 50 MB of live objects per heap, but V8 lets an unlimited heap fill with garbage first (issue 11).
 * `--worker-env NODE_OPTIONS=` runs without it.
 */
export const WORKER_NODE_OPTIONS = '--max-old-space-size=160';

/**
 * The allocator the image preloads (Dockerfile LD_PRELOAD): jemalloc hands freed memory back to the system, where
 * glibc's arenas keep ~180 MB of the core's and Node's buffers resident at 200 runs. Where this machine has
 * Debian's libjemalloc2 the workers preload it too; else they run on glibc, and the table says which.
 */
const JEMALLOC = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'];
export const workerAllocator = (): string | undefined => JEMALLOC.find((file) => existsSync(file));

export interface WorkerSlot {
  index: number;
  process: ProductProcess;
  starts: number;
}

/**
 * What the bench started, stopped newest first, each whatever the others do. A second `run` (a signal during the
 * normal end) waits for the first instead of stopping things out of order.
 */
export class Teardown {
  private readonly list: Array<{ what: string; stop: () => Promise<void> | void }> = [];
  private running?: Promise<void>;
  add(what: string, stop: () => Promise<void> | void): void {
    this.list.push({ what, stop });
  }
  run(): Promise<void> {
    this.running ??= (async () => {
      for (let s = this.list.pop(); s; s = this.list.pop()) {
        const { what, stop } = s;
        await Promise.resolve()
          .then(stop)
          .catch((e: unknown) => console.error(`stopping ${what}: ${(e as Error).message}`));
      }
    })();
    return this.running;
  }
}

export interface FleetLab {
  admin: ReturnType<typeof azureAdmin>;
  azure: AzureLabSettings;
  /** The settings of the lab parts (AD_*, KUBECONFIG, AZURE_*): what the world checks read. */
  settings: Record<string, string>;
  temporal: Client;
  apiUrl: string;
  tokens: { operator: string; viewer: string };
  api: ProductProcess;
  workers: WorkerSlot[];
  /** The pids of the bench's own Temporal server and Azure fake (their CPU is part of what a fleet costs). */
  temporalPid(): number | undefined;
  azurePid(): number | undefined;
  /** SIGKILL the slot's worker and start a new one in its place; resolves once the new one polls. */
  replaceWorker(slot: WorkerSlot): Promise<void>;
}

/** Parses `export K="v"` lines (lab/azure/cli.ts prints JSON-quoted values). */
function exported(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^export (\w+)=(.*)$/gm)) out[m[1] as string] = JSON.parse(m[2] as string) as string;
  return out;
}

/** The Azure fake under its own lab directory, as its CLI starts it (a daemon with a pid file there). */
function azureFake(labDir: string, kubeconfig: string) {
  const env = { ...process.env, GMSA_LAB_DIR: labDir, AZURE_LAB_KUBECONFIG: kubeconfig, AZURE_LAB_PORT: '0' };
  const cli = (command: 'start' | 'stop') =>
    execFileSync(process.execPath, ['--import', 'tsx', path.join('lab', 'azure', 'cli.ts'), command], {
      cwd: PROJECT_ROOT,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 90_000,
    });
  return { start: () => exported(cli('start')), stop: () => void cli('stop') };
}

async function startTemporal(dir: string): Promise<{ part: LabPart; address: string; pidFile: string }> {
  // The dev server binds its ports itself, so a port free when chosen can be taken first: try another (test/run.ts).
  for (let attempt = 1; ; attempt++) {
    const d = path.join(dir, `temporal-${attempt}`);
    const part = temporalLab({ port: await freePort(), headless: true, dir: d, dbFile: path.join(d, 'db.sqlite') });
    try {
      // lab/temporal.ts keeps the dev server's pid in its directory.
      const pidFile = path.join(d, 'temporal.pid');
      return { part, address: (await part.start()).TEMPORAL_ADDRESS as string, pidFile };
    } catch (err) {
      await part.stop().catch(() => undefined);
      const cause = (err as Error).cause ?? err;
      if (!(cause instanceof TemporalExited && cause.portTaken) || attempt === 5) throw err;
    }
  }
}

export async function startFleetLab(
  o: FleetOptions,
  tmp: string,
  teardown: Teardown,
  say: (line: string) => void,
): Promise<FleetLab> {
  const t0 = Date.now();
  const temporal = await startTemporal(tmp);
  teardown.add('temporal', () => temporal.part.stop());

  const settings: Record<string, string> = {};
  for (const part of [sambaLab, kubernetesLab]) {
    const reused = part.running();
    try {
      Object.assign(settings, await part.start(settings));
    } catch (err) {
      // Only what this bench started and did not come up is stopped again, never one it found running.
      if (!reused) await part.stop().catch(() => undefined);
      throw new Error(`${part.name} could not start: ${(err as Error).message}`, { cause: err });
    }
    if (!reused && !o.keepPeers) teardown.add(part.name, () => part.stop());
    say(`${part.name} ${reused ? 'reused' : o.keepPeers ? 'started (left running)' : 'started'}`);
  }
  const azureDir = path.join(tmp, 'lab');
  mkdirSync(azureDir, { recursive: true });
  const fake = azureFake(azureDir, settings.KUBECONFIG as string);
  teardown.add('azure fake', fake.stop);
  const azure = fake.start();
  Object.assign(settings, azure);
  const admin = azureAdmin(azure);
  await admin.knobs({ azureLike: 0, faults: [] } as Parameters<typeof admin.knobs>[0]);

  const token = () => randomBytes(18).toString('base64url');
  const tokens = { operator: token(), viewer: token() };
  const keyEntry = KeyRing.generateEntry('fleet-1');
  const apiPort = await freePort();
  // The lab's settings only: a Temporal, AD, Azure or Kubernetes setting of the caller's shell must not leak in.
  const inherited = Object.entries(process.env).filter(([k]) => !/^(TEMPORAL_|GMSA_|AD_|AZURE_|KUBE)/.test(k));
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(inherited),
    ...settings,
    TEMPORAL_ADDRESS: temporal.address,
    GMSA_TASK_QUEUE: TASK_QUEUE,
    GMSA_CODEC_KEYS: keyEntry,
    GMSA_CODEC_KEYS_FILE: '',
    GMSA_APPROVAL_KEY: generateApprovalKey(),
    GMSA_APPROVAL_KEY_FILE: '',
    GMSA_API_TOKENS: `operator:bench:${tokens.operator},viewer:bench:${tokens.viewer}`,
    GMSA_API_PORT: String(apiPort),
    GMSA_API_HOST: '127.0.0.1',
    GMSA_SHUTDOWN_GRACE_SECONDS: '2',
    LOG_LEVEL: 'info',
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const logs = path.join(tmp, 'logs');
  mkdirSync(logs, { recursive: true });

  const api = await ProductProcess.start({
    name: 'api',
    entry: 'api/main',
    source: o.source,
    env: { ...env, LOG_LEVEL: 'warn' },
    logFile: path.join(logs, 'api.log'),
    ready: async () => (await fetch(`${apiUrl}/readyz`).catch(() => undefined))?.ok === true,
  });
  teardown.add('api', () => api.stop());

  const jemalloc = workerAllocator();
  const startWorker = (index: number, start: number) =>
    ProductProcess.start({
      name: `worker ${index + 1}`,
      entry: 'worker/main',
      source: o.source,
      env: {
        ...env,
        NODE_OPTIONS: [process.env.NODE_OPTIONS, WORKER_NODE_OPTIONS].filter(Boolean).join(' '),
        ...(jemalloc ? { LD_PRELOAD: jemalloc } : {}),
        ...o.workerEnv,
      },
      logFile: path.join(logs, `worker-${index + 1}.${start}.log`),
      ready: workerReady,
    });
  const workers: WorkerSlot[] = [];
  teardown.add('workers', () => Promise.all(workers.map((w) => w.process.stop())).then(() => undefined));
  for (let i = 0; i < o.workers; i++) workers.push({ index: i, process: await startWorker(i, 1), starts: 1 });

  const connection = await Connection.connect({ address: temporal.address });
  teardown.add('temporal client', () => connection.close());
  const client = new Client({ connection, dataConverter: dataConverter(KeyRing.parse(keyEntry, 'fleet')) });
  say(
    `lab ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: temporal ${temporal.address}, API ${apiUrl}, ` +
      `${o.workers} worker${o.workers > 1 ? 's' : ''} (${o.source ? 'sources under tsx' : 'compiled'}, ` +
      `${jemalloc ? 'jemalloc' : 'glibc malloc: install libjemalloc2 to measure as the image runs'})`,
  );
  return {
    admin,
    azure,
    settings,
    temporal: client,
    apiUrl,
    tokens,
    api,
    workers,
    temporalPid: () => runningPid(temporal.pidFile),
    // lab/azure/index.ts keeps the fake's pid under its lab directory.
    azurePid: () => runningPid(path.join(azureDir, 'azure', 'azure.pid')),
    async replaceWorker(slot) {
      await slot.process.kill();
      slot.starts += 1;
      slot.process = await startWorker(slot.index, slot.starts);
    },
  };
}
