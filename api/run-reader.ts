/**
 * How the API reads one run's view cheaply (issue 16): a closed run cannot change, so its view is kept by run id
 * (bounded, least recently read out first) and only a describe, to learn the id's latest run, reaches Temporal.
 * Reads of the same id share one read, and are answered from it for a moment after (domain/shared-reads.ts): a
 * dashboard or fifty `watch`es polling one running provisioning cost Temporal one describe a second, not one each,
 * and a poll seldom waits for Temporal at all. A running run's view is rebuilt (a query, which is a workflow task on
 * the worker) only when the describe shows something new: a run waiting for approval for hours costs the worker
 * nothing however often it is read.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { keepRecent } from '../domain/recent-map.js';
import { SharedReads, type ReadAges } from '../domain/shared-reads.js';

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

/**
 * What a running run's view was built from, when the same view would be built again from it: a workflow's state,
 * and so what its query answers, changes only with a new event in its history. A pending activity's attempts,
 * heartbeats and backoff change without one (and with the clock), so a run with one is built again each time.
 */
const sourceOf = (d: WorkflowExecutionDescription) =>
  d.raw.pendingActivities?.length ? undefined : `${d.runId} ${d.historyLength}`;

export class RunReader<V> {
  private readonly closed = new Map<string, V>();
  /** Running runs' last views by id, with what each was built from. */
  private readonly running = new Map<string, { source: string; view: V }>();
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
    if (d.status.name === 'RUNNING') return { view: await this.buildRunning(id, d), closed: false };
    this.running.delete(id);
    const kept = this.closed.get(d.runId);
    if (kept) {
      keepRecent(this.closed, d.runId, kept, this.capacity);
      return { view: kept, closed: true };
    }
    const { view, complete } = await this.build(id, d);
    if (complete) keepRecent(this.closed, d.runId, view, this.capacity);
    return { view, closed: complete };
  }

  private async buildRunning(id: string, d: WorkflowExecutionDescription): Promise<V> {
    const source = sourceOf(d);
    const last = this.running.get(id);
    if (source !== undefined && last?.source === source) return last.view;
    const { view, complete } = await this.build(id, d);
    // Incomplete (its query failed) or built from a pending activity: built again next time.
    if (complete && source !== undefined) keepRecent(this.running, id, { source, view }, this.capacity);
    else this.running.delete(id);
    return view;
  }
}
