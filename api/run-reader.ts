/**
 * How the API reads one run's view cheaply (issue 16): a closed run cannot change, so its view is kept by run id
 * (bounded, least recently read out first) and only a describe, to learn the id's latest run, reaches Temporal.
 * Reads of the same id share one read, and are answered from it for a moment after (api/shared-reads.ts): a
 * dashboard or fifty `watch`es polling one running provisioning cost the worker one query a second, not one each
 * (every query is a workflow task on the worker), and a poll seldom waits for Temporal at all.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { SharedReads, type ReadAges } from './shared-reads.js';

/** How old a running run's view or a list page may be when answered: about the CLI `watch`'s one-second poll. */
export const READ_AGES: ReadAges = { freshMs: 1000, maxAgeMs: 2000 };

/**
 * A closed run's view changes only when its id is run again: a start through this API forgets it at once, one
 * through another replica of the API or outside it shows within maxAgeMs.
 */
export const CLOSED_READ_AGES: ReadAges = { freshMs: 5000, maxAgeMs: 10_000 };

export interface BuiltView<V> {
  view: V;
  /** Built from the run's final progress (memo or query): a closed run's view that may be kept. */
  complete: boolean;
}

export class RunReader<V> {
  private readonly closed = new Map<string, V>();
  private readonly recent: SharedReads<string, { view: V; closed: boolean }>;

  constructor(
    private readonly describe: (id: string) => Promise<WorkflowExecutionDescription>,
    private readonly build: (id: string, d: WorkflowExecutionDescription) => Promise<BuiltView<V>>,
    options: { ages?: ReadAges; closedAges?: ReadAges; capacity?: number } = {},
  ) {
    const running = options.ages ?? READ_AGES;
    const closed = options.closedAges ?? CLOSED_READ_AGES;
    this.recent = new SharedReads((r) => (r.closed ? closed : running));
    this.capacity = options.capacity ?? 1000;
  }

  /** Closed runs' views kept: about 10 kB each. */
  private readonly capacity: number;

  async read(id: string): Promise<V> {
    return (await this.recent.read(id, () => this.load(id))).view;
  }

  /**
   * After a change made through this API (start, approve, cancel): later reads start a read of their own rather
   * than take one begun before the change, so whoever made it reads it back.
   */
  forget(id: string): void {
    this.recent.forget(id);
  }

  /** How many closed runs' views are kept (for tests and the bench). */
  get size(): number {
    return this.closed.size;
  }

  private async load(id: string): Promise<{ view: V; closed: boolean }> {
    const d = await this.describe(id);
    const running = d.status.name === 'RUNNING';
    const kept = running ? undefined : this.closed.get(d.runId);
    if (kept) {
      // Map order is insertion order: moving it to the end makes the first entry the least recently read.
      this.closed.delete(d.runId);
      this.closed.set(d.runId, kept);
      return { view: kept, closed: true };
    }
    const { view, complete } = await this.build(id, d);
    if (!running && complete) {
      this.closed.set(d.runId, view);
      if (this.closed.size > this.capacity) this.closed.delete(this.closed.keys().next().value!);
    }
    return { view, closed: !running && complete };
  }
}
