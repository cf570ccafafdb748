/**
 * The product's own processes for the bench: the API and the workers, compiled (dist/) as in production or from
 * the sources under tsx, each logging to a file of the bench's temporary directory, with their resident memory
 * read from /proc (Linux) so the bench can sample it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lab/paths.js';
import { tail, waitUntil } from '../../lab/process.js';

const PRODUCT_SOURCES = ['contract', 'config', 'domain', 'temporal', 'activities', 'workflows', 'worker', 'api', 'cli'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** The build's last output: older than any product source means dist/ is stale. */
const BUILD_STAMP = path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');

/** Runs `npm run build` when dist/ is missing or older than the sources; throws when the build fails. */
export function ensureBuilt(): void {
  const built = existsSync(BUILD_STAMP) ? statSync(BUILD_STAMP).mtimeMs : 0;
  const sources = Math.max(...PRODUCT_SOURCES.map((d) => newestSource(path.join(PROJECT_ROOT, d))));
  if (built >= sources) return;
  console.log(built ? 'dist/ is older than the sources: npm run build' : 'no dist/: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    throw new Error('npm run build failed (its output is above); --source runs the sources, --no-build the old dist/');
  }
}

/** The command line of a product entry point (`worker/main`, `api/main`). */
function entry(name: string, source: boolean): string[] {
  return source
    ? ['--import', 'tsx', path.join(PROJECT_ROOT, `${name}.ts`)]
    : [path.join(PROJECT_ROOT, 'dist', `${name}.js`)];
}

/** Resident set size of a live process in bytes (VmRSS), undefined once it is gone. */
export function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time a live process has used so far (user + system) in seconds, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces), from field 3 (state): utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on every Linux the kernel ABI allows userland to see. */
const CLOCK_TICKS = 100;

/** Busy CPU seconds of the whole machine since boot, all cores (/proc/stat: everything but idle and iowait). */
export function machineBusySeconds(): number | undefined {
  try {
    const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
    const t = ticks.map(Number);
    const all = t.reduce((a, b) => a + b, 0);
    return (all - (t[3] ?? 0) - (t[4] ?? 0)) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

export class ProductProcess {
  private ended = false;
  /** Set when the process ended without the bench asking it to. */
  unexpectedExit?: string;
  private stopping = false;
  readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.ended = true;
        if (!this.stopping) this.unexpectedExit = `${signal ?? `exit ${code}`}`;
        resolve();
      }),
    );
  }

  static async start(o: {
    name: string;
    entry: 'worker/main' | 'api/main';
    source: boolean;
    env: NodeJS.ProcessEnv;
    logFile: string;
    ready: (p: ProductProcess) => Promise<boolean>;
    timeoutMs?: number;
  }): Promise<ProductProcess> {
    const out = openSync(o.logFile, 'a');
    const child = spawn(process.execPath, entry(o.entry, o.source), {
      cwd: PROJECT_ROOT,
      env: o.env,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const p = new ProductProcess(o.name, child, o.logFile);
    await waitUntil(
      o.name,
      async () => {
        if (p.ended) throw new Error(`${o.name} exited at start (${p.unexpectedExit}):\n${tail(o.logFile)}`);
        return o.ready(p);
      },
      { timeoutMs: o.timeoutMs ?? 120_000, intervalMs: 100, logFile: o.logFile, failOn: () => p.ended },
    );
    return p;
  }

  get pid(): number | undefined {
    return this.ended ? undefined : this.child.pid;
  }

  rss(): number | undefined {
    return rssOf(this.pid);
  }

  /** A crash with no goodbye: nothing in flight is finished or handed back. */
  async kill(): Promise<void> {
    this.stopping = true;
    if (!this.ended) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (the worker stops polling and finishes what it holds), SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    if (this.ended) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Worker readiness: its log says it started polling (worker/main.ts logs "worker started"). */
export const workerReady = (p: ProductProcess) =>
  Promise.resolve(readFileSync(p.logFile, 'utf8').includes('"worker started"'));
