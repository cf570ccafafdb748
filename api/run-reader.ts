/**
 * How the API reads one run's view cheaply (issue 16): a closed run cannot change, so its view is kept by run id
 * (bounded, least recently read out first) and only a describe, to learn the id's latest run, reaches Temporal.
 * Concurrent reads of the same id share one read (single flight): a dashboard or fifty `watch`es polling one
 * running provisioning then cost the worker one query per round instead of one each, since every query is a
 * workflow task on the worker.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';

export interface BuiltView<V> {
  view: V;
  /** Built from the run's final progress (memo or query): a closed run's view that may be kept. */
  complete: boolean;
}

export class RunReader<V> {
  private readonly closed = new Map<string, V>();
  private readonly flights = new Map<string, Promise<V>>();

  constructor(
    private readonly describe: (id: string) => Promise<WorkflowExecutionDescription>,
    private readonly build: (id: string, d: WorkflowExecutionDescription) => Promise<BuiltView<V>>,
    /** Closed runs' views kept: about 10 kB each. */
    private readonly capacity = 1000,
  ) {}

  read(id: string): Promise<V> {
    const flying = this.flights.get(id);
    if (flying) return flying;
    const flight = this.load(id).finally(() => {
      if (this.flights.get(id) === flight) this.flights.delete(id);
    });
    this.flights.set(id, flight);
    return flight;
  }

  /**
   * After a change made through this API (approve, cancel): later reads start a read of their own rather than
   * join one begun before the change, so whoever made it reads it back.
   */
  forget(id: string): void {
    this.flights.delete(id);
  }

  /** How many closed runs' views are kept (for tests and the bench). */
  get size(): number {
    return this.closed.size;
  }

  private async load(id: string): Promise<V> {
    const d = await this.describe(id);
    const running = d.status.name === 'RUNNING';
    const kept = running ? undefined : this.closed.get(d.runId);
    if (kept) {
      // Map order is insertion order: moving it to the end makes the first entry the least recently read.
      this.closed.delete(d.runId);
      this.closed.set(d.runId, kept);
      return kept;
    }
    const { view, complete } = await this.build(id, d);
    if (!running && complete) {
      this.closed.set(d.runId, view);
      if (this.closed.size > this.capacity) this.closed.delete(this.closed.keys().next().value!);
    }
    return view;
  }
}
