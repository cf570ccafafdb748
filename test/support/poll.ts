/**
 * Waiting without sleeping as proof: poll for a state with a deadline, or block on a barrier the test controls.
 * A deadline only bounds how long a failing test takes; no test passes because some time went by.
 */
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Calls `check` until it returns something other than undefined or false, and returns that; fails naming `what`
 * (and, if given, `last()`: what was seen last) once `timeoutMs` has passed.
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, intervalMs = 50, last }: { timeoutMs?: number; intervalMs?: number; last?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `; last seen: ${last()}` : ''}`);
    }
    await delay(intervalMs);
  }
}

/** A promise with its resolve and reject outside it: a hold the test releases. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * `parties` callers each `arrive(name)` and wait until all have arrived: the proof that they ran at the same time,
 * since none returns before the last one started. Rejects every waiter, naming who had arrived, after `timeoutMs`.
 */
export class Barrier {
  private readonly arrived: string[] = [];
  private readonly all = deferred();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly parties: number,
    timeoutMs = 20_000,
  ) {
    this.timer = setTimeout(
      () =>
        this.all.reject(
          new Error(`only ${this.arrived.length} of ${this.parties} arrived together: ${this.arrived.join(', ')}`),
        ),
      timeoutMs,
    );
    this.all.promise.catch(() => undefined); // rejections are seen by the waiters
  }

  get names(): readonly string[] {
    return this.arrived;
  }

  async arrive(name: string): Promise<void> {
    this.arrived.push(name);
    if (this.arrived.length === this.parties) {
      clearTimeout(this.timer);
      this.all.resolve();
    }
    return this.all.promise;
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** `promise`, or a failure naming `what` if it has not settled within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
