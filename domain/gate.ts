/**
 * At most `limit` calls of `run` at once; the others wait their turn, first come first served. A slot is given back
 * however the call ends. Used where a burst would be refused by the peer rather than served more slowly (the LDAP
 * connects of a fleet, activities/active-directory/ldap-session.ts).
 */
export class Gate {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`a gate's limit is a whole number ≥ 1, got ${limit}`);
  }

  /** Calls running now, and calls waiting for a slot (for tests). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.queue.length };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running++;
    // A slot handed over by `release` stays counted: the waiter takes it without racing a newcomer.
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }
}
