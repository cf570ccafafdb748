/**
 * Keeps one of the lab's own processes (the worker, the API) running: when it exits without being asked to, it is
 * started again after a backoff that doubles from `initialMs` to `maxMs`, with a line saying so. A process that
 * stayed up for `healthyMs` counts as recovered and its backoff starts over. Only one that keeps dying
 * (`maxRestarts` within `windowMs`) gives up, so a broken build stops the lab instead of looping for ever.
 */
import type { ChildProcess } from 'node:child_process';

export interface SuperviseOptions {
  initialMs?: number;
  maxMs?: number;
  healthyMs?: number;
  maxRestarts?: number;
  windowMs?: number;
  log?: (line: string) => void;
  /** Called once when it gives up: the lab stops. */
  onGiveUp: (why: string) => void;
}

export interface Supervised {
  readonly name: string;
  /** The process running now (undefined between a death and its restart). */
  current(): ChildProcess | undefined;
  restarts(): number;
  /** Stops supervising and the process (SIGTERM, then SIGKILL after `graceMs`); resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function supervise(name: string, spawnIt: () => ChildProcess, o: SuperviseOptions): Supervised {
  const initialMs = o.initialMs ?? 1000;
  const maxMs = o.maxMs ?? 30_000;
  const healthyMs = o.healthyMs ?? 60_000;
  const maxRestarts = o.maxRestarts ?? 10;
  const windowMs = o.windowMs ?? 5 * 60_000;
  const log = o.log ?? ((line: string) => console.error(line));
  let child: ChildProcess | undefined;
  let stopped = false;
  let delay = initialMs;
  let timer: NodeJS.Timeout | undefined;
  const deaths: number[] = [];
  let restartCount = 0;

  const launch = () => {
    const startedAt = Date.now();
    const c = spawnIt();
    child = c;
    c.once('exit', (code, signal) => {
      child = undefined;
      if (stopped) return;
      const now = Date.now();
      if (now - startedAt >= healthyMs) delay = initialMs;
      deaths.push(now);
      while (deaths.length && now - deaths[0]! > windowMs) deaths.shift();
      const how = signal ?? `code ${code}`;
      if (deaths.length > maxRestarts) {
        const why = `${name} exited (${how}) ${deaths.length} times within ${Math.round(windowMs / 1000)} s`;
        log(`${why}; giving up`);
        stopped = true;
        o.onGiveUp(why);
        return;
      }
      log(`${name} exited (${how}); restarting in ${(delay / 1000).toFixed(1)} s`);
      timer = setTimeout(() => {
        timer = undefined;
        if (stopped) return;
        restartCount += 1;
        launch();
        log(`${name} restarted (restart ${restartCount})`);
      }, delay);
      delay = Math.min(delay * 2, maxMs);
    });
  };
  launch();

  return {
    name,
    current: () => child,
    restarts: () => restartCount,
    async stop(graceMs = 15_000) {
      stopped = true;
      if (timer) clearTimeout(timer);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
        setTimeout(() => c.kill('SIGKILL'), graceMs).unref();
      });
    },
  };
}
