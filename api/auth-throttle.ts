/**
 * Slows down token guessing: after `limit` failed authentications from one address within `windowMs`, further
 * requests from it get 429 until the window has passed. In memory, per API process: enough against a script.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly limit = 20,
    private readonly windowMs = 60_000,
  ) {}

  /** Milliseconds until this address may try again; 0 when it may now. */
  retryAfterMs(address: string, now = Date.now()): number {
    const recent = this.prune(address, now);
    return recent.length >= this.limit ? recent[0]! + this.windowMs - now : 0;
  }

  fail(address: string, now = Date.now()): void {
    const recent = this.prune(address, now);
    recent.push(now);
    this.failures.set(address, recent);
  }

  private prune(address: string, now: number): number[] {
    const recent = (this.failures.get(address) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length) this.failures.set(address, recent);
    else this.failures.delete(address);
    return recent;
  }
}
