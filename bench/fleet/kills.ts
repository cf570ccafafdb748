/**
 * Workers that die: every `everyMs` one worker (the slots in turn) gets SIGKILL, a crash with no goodbye, and a new
 * one starts in its place. A slot whose replacement is still starting is passed over for that turn.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { FleetLab, WorkerSlot } from './lab.js';

export interface Kills {
  /** Ends the loop and waits for replacements still starting, so every slot has a live worker afterwards. */
  stop(): Promise<{ kills: number; restartFailures: string[] }>;
}

export function killEvery(lab: FleetLab, everyMs: number): Kills {
  let running = true;
  let kills = 0;
  const restartFailures: string[] = [];
  const replacing = new Map<WorkerSlot, Promise<void>>();
  const stopped = new AbortController();
  const loop = (async () => {
    for (let turn = 0; running; turn++) {
      await delay(everyMs, undefined, { signal: stopped.signal }).catch(() => undefined);
      if (!running) break;
      const slot = lab.workers[turn % lab.workers.length] as WorkerSlot;
      if (replacing.has(slot)) continue;
      kills += 1;
      replacing.set(
        slot,
        lab
          .replaceWorker(slot)
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
      return { kills, restartFailures };
    },
  };
}
