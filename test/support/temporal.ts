/**
 * Temporal for tests: the real dev server the test runner started (TEMPORAL_ADDRESS), or the time-skipping test
 * server (TEMPORAL_TEST_SERVER_PATH). Missing means failing, with the reason: these tests never skip.
 */
import { execFileSync } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { temporalBinary } from '../../lab/temporal.js';
import type { temporal } from '@temporalio/proto';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { GmsaActivities } from '../../contract/activities.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { FAILURE_CONVERTER_PATH } from '../../temporal/codec.js';
import { WORKFLOWS_PATH } from '../../worker/create-worker.js';

// Workers log state changes at INFO; tests only want to hear about problems.
Runtime.install({ logger: new DefaultLogger('WARN') });

/** The schedule ids Temporal lists now, through the Temporal CLI, as an operator would look (`temporal schedule list`). */
export function scheduleIds(): string[] {
  const out = execFileSync(
    temporalBinary('cli'),
    ['schedule', 'list', '--address', requireEnv('TEMPORAL_ADDRESS', 'the dev server'), '-o', 'json'],
    { encoding: 'utf8' },
  );
  const parsed = JSON.parse(out.trim() || '[]') as { scheduleId?: string; schedule_id?: string }[];
  return parsed.map((s) => String(s.scheduleId ?? s.schedule_id));
}

export function requireEnv(name: string, why: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: ${why}. Run the tests with \`npm test\`, which starts the peers.`);
  return v;
}

export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  const address = requireEnv('TEMPORAL_ADDRESS', 'no Temporal dev server');
  return TestWorkflowEnvironment.createFromExistingServer({ address });
}

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = requireEnv('TEMPORAL_TEST_SERVER_PATH', 'no time-skipping test server');
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/**
 * The workflow bundle, built once per test process, with the product's failure converter as the worker's own
 * bundle has it: a failure's message and stack trace leave the workflow as payloads, for the codec to encrypt.
 */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietLogger,
  });
  return bundle;
}

const noop = () => {};
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };

let n = 0;
/** A task queue of its own per test, so workers of different tests never steal each other's tasks. */
export const uniqueQueue = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}-${n++}`;

/** Runs `body` with a worker over `activities` (and the product's workflows) on a queue of its own. */
export async function withWorker<T>(
  env: TestWorkflowEnvironment,
  activities: GmsaActivities,
  body: (taskQueue: string) => Promise<T>,
  prefix = 'wf',
): Promise<T> {
  const taskQueue = uniqueQueue(prefix);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  return worker.runUntil(body(taskQueue));
}

/** One event of a workflow's history, as the server stores it. */
export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export type RawPayload = { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null; path?: string };

/** Every payload anywhere in a history (inputs, results, signals, failures' details), with its path. */
export function collectPayloads(node: unknown, out: RawPayload[] = [], path = ''): RawPayload[] {
  if (!node || typeof node !== 'object') return out;
  if (node instanceof Uint8Array) return out;
  const n = node as Record<string, unknown>;
  if (n.metadata && typeof n.metadata === 'object' && n.data instanceof Uint8Array)
    out.push({ ...(n as RawPayload), path });
  // Search attributes stay readable by design (the server indexes them): cluster and spec names only.
  else for (const [k, v] of Object.entries(n)) if (k !== 'searchAttributes') collectPayloads(v, out, `${path}/${k}`);
  return out;
}

/** patched() markers: the SDK's core writes the patch id itself, past the data converter, as plain JSON. */
export const isPatchMarker = (p: RawPayload) =>
  /\/markerRecordedEventAttributes\/details\/patch-data\//.test(p.path ?? '');

/**
 * Where a history holds a payload the codec did not encrypt (path and encoding, never the data), patch markers
 * aside: a worker refuses such a payload on replay, so one stalls the run.
 */
export function unencryptedPayloads(events: HistoryEvent[], encrypted: string): string[] {
  return collectPayloads(events)
    .filter((p) => !isPatchMarker(p) && Buffer.from(p.metadata?.encoding ?? []).toString() !== encrypted)
    .map((p) => `${p.path}: ${Buffer.from(p.metadata?.encoding ?? []).toString() || 'no encoding'}`);
}

export async function historyOf(handle: Pick<WorkflowHandle, 'fetchHistory'>): Promise<HistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

export interface ActivityInHistory {
  name: string;
  /** Event id of ActivityTaskScheduled: when the workflow decided to run it. */
  scheduled: number;
  /** Event id of its completion, failure, timeout or cancellation; undefined while it runs. */
  closed?: number;
  outcome?: 'completed' | 'failed' | 'timedOut' | 'canceled';
}

/** Every activity the workflow scheduled, in schedule order, with the event ids that order them causally. */
export function activitiesIn(events: HistoryEvent[]): ActivityInHistory[] {
  const byScheduled = new Map<number, ActivityInHistory>();
  for (const e of events) {
    const id = Number(e.eventId);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) byScheduled.set(id, { name: String(s.activityType?.name), scheduled: id });
    const ends = [
      ['completed', e.activityTaskCompletedEventAttributes],
      ['failed', e.activityTaskFailedEventAttributes],
      ['timedOut', e.activityTaskTimedOutEventAttributes],
      ['canceled', e.activityTaskCanceledEventAttributes],
    ] as const;
    for (const [outcome, attrs] of ends) {
      const a = attrs && byScheduled.get(Number(attrs.scheduledEventId));
      if (a) Object.assign(a, { closed: id, outcome });
    }
  }
  return [...byScheduled.values()];
}
