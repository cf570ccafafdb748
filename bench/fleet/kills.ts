/**
 * Workers that die: every `everyMs` one worker (the slots in turn) gets SIGKILL, a crash with no goodbye, and a new
 * one starts in its place. A slot whose replacement is still starting is passed over for that turn.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { FleetLab, WorkerSlot } from './lab.js';
import { cpuSecondsOf } from './product.js';

export interface Kills {
  /** Ends the loop and waits for replacements still starting, so every slot has a live worker afterwards. */
  stop(): Promise<KillFigures>;
}

export interface KillFigures {
  kills: number;
  restartFailures: string[];
  /** Per restart: SIGKILL → the new worker's "worker started", and the CPU seconds it had used by then. */
  restartMs: number[];
  startCpuSeconds: number[];
}

export function killEvery(lab: FleetLab, everyMs: number): Kills {
  let running = true;
  let kills = 0;
  const restartFailures: string[] = [];
  const restartMs: number[] = [];
  const startCpuSeconds: number[] = [];
  const replacing = new Map<WorkerSlot, Promise<void>>();
  const stopped = new AbortController();
  const loop = (async () => {
    for (let turn = 0; running; turn++) {
      await delay(everyMs, undefined, { signal: stopped.signal }).catch(() => undefined);
      if (!running) break;
      const slot = lab.workers[turn % lab.workers.length] as WorkerSlot;
      if (replacing.has(slot)) continue;
      kills += 1;
      const t0 = Date.now();
      replacing.set(
        slot,
        lab
          .replaceWorker(slot)
          .then(() => {
            restartMs.push(Date.now() - t0);
            const cpu = cpuSecondsOf(slot.process.pid);
            if (cpu !== undefined) startCpuSeconds.push(cpu);
          })
          .catch(
            (e: unknown) =>
              void restartFailures.push(`worker ${slot.index + 1}: ${(e as Error).message.split('\n')[0]}`),
          )
          .finally(() => replacing.delete(slot)),
      );
    }
  })();
  return {
    async stop() {
      running = false;
      stopped.abort();
      await loop;
      await Promise.all(replacing.values());
      return { kills, restartFailures, restartMs, startCpuSeconds };
    },
  };
}
