/**
 * Background processes of the lab: started detached with a pid file, awaited by health check, stopped by pid.
 * Every lab part (Temporal, Samba, Azure fake, lowkey-vault, kube-apiserver) uses these, so `npm start`, the test
 * runner and people stop exactly what was started.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  pidFile: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The pid recorded in a pid file if that process is still alive. */
export function runningPid(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Starts a detached process in its own process group, output to a log file, pid to a pid file. */
export function startDaemon(spec: DaemonSpec): number {
  mkdirSync(path.dirname(spec.pidFile), { recursive: true });
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
  child.unref();
  writeFileSync(spec.pidFile, `${child.pid}\n`);
  return child.pid;
}

/** Stops the process (group) of a pid file: SIGTERM, then SIGKILL after the grace period. */
export async function stopDaemon(pidFile: string, graceMs = 10_000): Promise<boolean> {
  const pid = runningPid(pidFile);
  if (pid === undefined) {
    rmSync(pidFile, { force: true });
    return false;
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // the whole group: wrappers and their children
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && runningPid(pidFile) !== undefined) await delay(100);
  if (runningPid(pidFile) !== undefined) signal('SIGKILL');
  rmSync(pidFile, { force: true });
  return true;
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `check` until it returns true; fails with `what` and the log tail when time runs out, or at once with the
 * error `check` threw when `failOn` says that error is final (a process that exited will not come up).
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  {
    timeoutMs = 60_000,
    intervalMs = 200,
    logFile,
    failOn,
  }: { timeoutMs?: number; intervalMs?: number; logFile?: string; failOn?: (err: unknown) => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await check().catch((err: unknown) => {
      if (failOn?.(err)) throw err;
      return false;
    });
    if (ok) return;
    await delay(intervalMs);
  }
  throw new Error(
    `${what}: not ready after ${timeoutMs} ms${logFile ? `\n--- ${logFile} (tail) ---\n${tail(logFile)}` : ''}`,
  );
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
