/**
 * Slows down token guessing: after `limit` failed authentications from one address within `windowMs`, further
 * failures from it get 429 until the window has passed. Only failures are counted and answered so: a valid token
 * always passes, even from a throttled address (a shared NAT or ingress address cannot lock its users out). In
 * memory, per API process, and bounded: at most `maxAddresses` addresses are remembered (the one that failed
 * longest ago goes first) and each keeps its last `limit` failures.
 */
export class AuthThrottle {
  /** Per address, its recent failure times, oldest first; the map is kept in order of each address's last failure. */
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly limit = 20,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Addresses remembered now. */
  get size(): number {
    return this.failures.size;
  }

  /** Milliseconds until a failure from this address is answered 401 again rather than 429; 0 when it is now. */
  retryAfterMs(address: string, now = Date.now()): number {
    const recent = this.recent(address, now);
    return recent.length >= this.limit ? recent[0]! + this.windowMs - now : 0;
  }

  /** Records a failed authentication; returns how long the address was already throttled (0: answer 401). */
  fail(address: string, now = Date.now()): number {
    const wait = this.retryAfterMs(address, now);
    const recent = this.recent(address, now);
    recent.push(now);
    if (recent.length > this.limit) recent.splice(0, recent.length - this.limit);
    // Re-inserted, so the map's first entry is always the address whose last failure is oldest.
    this.failures.delete(address);
    this.failures.set(address, recent);
    this.prune(now);
    return wait;
  }

  private recent(address: string, now: number): number[] {
    return (this.failures.get(address) ?? []).filter((t) => now - t < this.windowMs);
  }

  /** Drops addresses whose last failure has left the window, then the oldest beyond the bound. */
  private prune(now: number): void {
    for (const [address, times] of this.failures) {
      if (this.failures.size <= this.maxAddresses && now - times[times.length - 1]! < this.windowMs) break;
      this.failures.delete(address);
    }
  }
}
