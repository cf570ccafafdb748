/**
 * Reads of one key share one load (issue 16). A CLI `watch`, a dashboard and a fleet rollout poll the same few runs
 * and pages, so Temporal should see one read per key per interval however many clients poll, and a poll should not
 * wait for Temporal when an answer a moment old is at hand (a worker's waits for a busy cluster share their ARM
 * reads the same way, activities/azure/cluster-state.ts):
 * - a value younger than `freshMs` is answered as it is;
 * - one younger than `maxAgeMs` is answered too, and one reload starts behind it (stale while revalidate);
 * - an older one, or none, waits for a load, which every read of the key meanwhile shares.
 * So no answer is older than `maxAgeMs`, and a key polled steadily is about `freshMs` old. A failed load is not
 * kept: its readers get its error, and the next read tries again.
 */
/** How long a read may be answered from what an earlier one loaded (see above). */
export interface ReadAges {
  freshMs: number;
  maxAgeMs: number;
}

interface Entry<V> {
  value?: { v: V; at: number; ages: ReadAges };
  loading?: Promise<V>;
}

export class SharedReads<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private swept = Number.NEGATIVE_INFINITY;

  private readonly agesOf: (value: V) => ReadAges;

  /** `ages` may depend on the value: what cannot change for a while may be kept for longer. */
  constructor(
    ages: ReadAges | ((value: V) => ReadAges),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.agesOf = typeof ages === 'function' ? ages : () => ages;
  }

  read(key: K, load: () => Promise<V>): Promise<V> {
    let entry = this.entries.get(key);
    const age = entry?.value ? this.now() - entry.value.at : Number.POSITIVE_INFINITY;
    if (entry?.value && age < entry.value.ages.freshMs) return Promise.resolve(entry.value.v);
    if (!entry) {
      entry = {};
      this.entries.set(key, entry);
    }
    const loading = entry.loading ?? this.reload(key, entry, load);
    return entry.value && age < entry.value.ages.maxAgeMs ? Promise.resolve(entry.value.v) : loading;
  }

  private reload(key: K, entry: Entry<V>, load: () => Promise<V>): Promise<V> {
    const started = this.now();
    const loading = load();
    entry.loading = loading;
    this.sweep();
    loading.then(
      (v) => {
        if (entry.loading === loading) entry.loading = undefined;
        // Its age counts from the start of the load: what it says may have changed at any time after that.
        // Forgotten while it loaded, it is not kept: its readers have it, and the next read loads anew.
        if (this.entries.get(key) === entry) entry.value = { v, at: started, ages: this.agesOf(v) };
      },
      () => {
        if (entry.loading === loading) entry.loading = undefined;
        if (this.entries.get(key) === entry && !this.answerable(entry)) this.entries.delete(key);
      },
    );
    return loading;
  }

  private answerable(entry: Entry<V>): boolean {
    return entry.value !== undefined && this.now() - entry.value.at < entry.value.ages.maxAgeMs;
  }

  /** Keys no longer read go with the next load after they are too old to answer: at most one sweep a second. */
  private sweep(): void {
    if (this.now() - this.swept < 1000) return;
    this.swept = this.now();
    for (const [key, entry] of this.entries) if (!entry.loading && !this.answerable(entry)) this.entries.delete(key);
  }

  /** After a change made through this API: the next read of `key` (of every key without one) loads anew. */
  forget(key?: K): void {
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }

  /** Keys kept or loading (for tests). */
  get size(): number {
    return this.entries.size;
  }
}
