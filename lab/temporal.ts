/**
 * The Temporal dev server of the lab: the official CLI (scripts/temporal-toolchain.sh) running `server start-dev`
 * on loopback with a SQLite file under .lab/temporal, so a restart resumes running workflows. The custom search
 * attributes are registered at start. Skipped when TEMPORAL_ADDRESS points at a server already.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_FLAGS } from '../temporal/search-attributes.js';
import { labPath, PROJECT_ROOT } from './paths.js';
import type { LabPart } from './part.js';
import { portOpen, runningPid, startDaemon, stopDaemon, waitUntil } from './process.js';

/** Path of a Temporal binary, installed on first use. */
export function temporalBinary(which: 'cli' | 'test-server'): string {
  return execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'temporal-toolchain.sh'), which], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

export interface TemporalLabOptions {
  port?: number;
  uiPort?: number;
  /** Keep state across restarts (npm start); tests use a throwaway database. */
  dbFile?: string;
  /** Codec server for the UI to decode payloads. */
  codecEndpoint?: string;
  dir?: string;
  /** No web UI (tests). */
  headless?: boolean;
}

/** The dev server process ended before it answered; `portTaken` when its log says a port was in use. */
export class TemporalExited extends Error {
  constructor(
    readonly portTaken: boolean,
    message: string,
  ) {
    super(message);
  }
}

/**
 * SQLite's own defaults (a rollback journal, synchronous FULL) make every commit wait for fsyncs of the journal and
 * the database, and the dev server commits on every task it hands out: under a fleet its dispatch queued on the
 * disk, not the CPU. A write-ahead log with synchronous NORMAL commits without waiting for the disk and still
 * survives the server's crash (kill -9); only the machine's losing power can take the last commits.
 */
const SQLITE_PRAGMAS = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'];

const logSize = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

export function temporalLab(o: TemporalLabOptions = {}): LabPart {
  const port = o.port ?? 7233;
  const uiPort = o.uiPort ?? 8233;
  const dir = o.dir ?? labPath('temporal');
  const pidFile = path.join(dir, 'temporal.pid');
  const logFile = path.join(dir, 'temporal.log');
  const settings = { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}` };
  return {
    name: 'temporal',
    async start() {
      if (runningPid(pidFile) !== undefined && (await portOpen(port))) return settings;
      if (await portOpen(port)) throw new Error(`temporal: port ${port} is taken by another process`);
      const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port)];
      // The UI's newsfeed is fetched from the internet: off, so the lab's UI makes loopback calls only.
      args.push(...(o.headless ? ['--headless'] : ['--ui-port', String(uiPort), '--ui-disable-news-fetch']));
      args.push('--db-filename', o.dbFile ?? path.join(dir, 'temporal.sqlite'), ...SQLITE_PRAGMAS);
      args.push('--log-level', 'warn', ...SEARCH_ATTRIBUTE_FLAGS);
      if (o.codecEndpoint) args.push('--ui-codec-endpoint', o.codecEndpoint);
      const logStart = logSize(logFile);
      startDaemon({ name: 'temporal', command: temporalBinary('cli'), args, pidFile, logFile });
      // Up means our process is alive and the port answers (not someone else on it). A process that died, e.g. on
      // a port another process took after it was chosen, fails at once with its log, so a caller can retry.
      await waitUntil(
        'temporal dev server',
        async () => {
          if (runningPid(pidFile) === undefined) {
            const log = readFileSync(logFile, 'utf8').slice(logStart);
            throw new TemporalExited(
              /address already in use/i.test(log),
              `temporal: the dev server exited at start\n--- ${logFile} (tail) ---\n${log.split('\n').slice(-30).join('\n')}`,
            );
          }
          return portOpen(port);
        },
        { timeoutMs: 60_000, logFile, failOn: (e) => e instanceof TemporalExited },
      );
      return settings;
    },
    async stop() {
      await stopDaemon(pidFile);
    },
    running: () => runningPid(pidFile) !== undefined,
  };
}
