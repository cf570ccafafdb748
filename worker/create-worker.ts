/**
 * The Temporal worker over a given activity set: used by worker/main.ts with the real activities and by tests and
 * benchmarks with doubles, so both run the same workflow bundle and options. Compiled (dist/), it loads the bundle
 * `npm run build` wrote; from source (tsx) it bundles the workflows at start.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { GmsaActivities } from '../contract/activities.js';
import { dataConverter, type KeyRing } from '../temporal/codec.js';
import { connectionOptions, type TemporalSettings } from '../temporal/settings.js';
import { stepMetricsInterceptor } from './step-metrics.js';

// Same extension as this file: .ts when run from source, .js when compiled.
const here = fileURLToPath(import.meta.url);
export const WORKFLOWS_PATH = path.join(path.dirname(here), '..', 'workflows', `index${path.extname(here)}`);
/** The name of the prebuilt bundle at the top of dist/, next to the compiled folders. */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';

/** The prebuilt bundle's path when this is the compiled worker and the build wrote one; undefined from source. */
export function prebuiltWorkflowBundle(): string | undefined {
  if (path.extname(here) !== '.js') return undefined;
  const file = path.join(path.dirname(here), '..', WORKFLOW_BUNDLE_FILE);
  return existsSync(file) ? file : undefined;
}

export interface CreateWorkerOptions {
  connection?: NativeConnection;
  settings: TemporalSettings;
  activities: GmsaActivities;
  /** Encrypts every payload; tests of workflow logic may run without. */
  keyRing?: KeyRing;
  shutdownGraceSeconds?: number;
  /** Runs kept in memory (worker/config DEFAULT_MAX_CACHED_WORKFLOWS); undefined: the SDK's default. */
  maxCachedWorkflows?: number;
  /** Activities running at once (worker/config DEFAULT_MAX_CONCURRENT_ACTIVITIES); undefined: the SDK's 100. */
  maxConcurrentActivities?: number;
  /** A bundle made by the caller (tests share one); else the build's (prebuiltWorkflowBundle), else one at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  extra?: Partial<WorkerOptions>;
}

export async function createWorker(o: CreateWorkerOptions): Promise<Worker> {
  const connection = o.connection ?? (await NativeConnection.connect(connectionOptions(o.settings)));
  const prebuilt = prebuiltWorkflowBundle();
  const workflowBundle = o.workflowBundle ?? (prebuilt ? { codePath: prebuilt } : undefined);
  return Worker.create({
    connection,
    namespace: o.settings.namespace,
    taskQueue: o.settings.taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: o.activities,
    ...(o.keyRing ? { dataConverter: dataConverter(o.keyRing) } : {}),
    shutdownGraceTime: `${o.shutdownGraceSeconds ?? 30}s`,
    ...(o.maxCachedWorkflows ? { maxCachedWorkflows: o.maxCachedWorkflows } : {}),
    ...(o.maxConcurrentActivities ? { maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities } : {}),
    // A run's next task waits this long for the worker that has it cached before any worker takes it (the SDK's
    // default is 10 s): when that worker has died, the run moves on after 2 s.
    stickyQueueScheduleToStartTimeout: '2s',
    // The SDK holds heartbeats back to 0.8 × the heartbeat timeout unless this is shorter: the server would then
    // see an attempt's beats up to 2.4 s apart, 0.6 s short of the 3 s timeout (workflows/step-policies.ts).
    maxHeartbeatThrottleInterval: '1s',
    ...o.extra,
    // The step metrics (worker/step-metrics.ts) on every attempt, whatever interceptors a caller adds.
    interceptors: {
      ...o.extra?.interceptors,
      activity: [stepMetricsInterceptor, ...(o.extra?.interceptors?.activity ?? [])],
    },
  });
}
