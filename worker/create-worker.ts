/**
 * The Temporal worker over a given activity set: used by worker/main.ts with the real activities and by tests and
 * benchmarks with doubles, so both run the same workflow bundle and options.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { GmsaActivities } from '../contract/activities.js';
import { dataConverter, type KeyRing } from '../temporal/codec.js';
import { connectionOptions, type TemporalSettings } from '../temporal/settings.js';

// Same extension as this file: .ts when run from source, .js when compiled.
const here = fileURLToPath(import.meta.url);
export const WORKFLOWS_PATH = path.join(path.dirname(here), '..', 'workflows', `index${path.extname(here)}`);

export interface CreateWorkerOptions {
  connection?: NativeConnection;
  settings: TemporalSettings;
  activities: GmsaActivities;
  /** Encrypts every payload; tests of workflow logic may run without. */
  keyRing?: KeyRing;
  shutdownGraceSeconds?: number;
  /** A prebuilt bundle (tests share one); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  extra?: Partial<WorkerOptions>;
}

export async function createWorker(o: CreateWorkerOptions): Promise<Worker> {
  const connection = o.connection ?? (await NativeConnection.connect(connectionOptions(o.settings)));
  return Worker.create({
    connection,
    namespace: o.settings.namespace,
    taskQueue: o.settings.taskQueue,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: o.activities,
    ...(o.keyRing ? { dataConverter: dataConverter(o.keyRing) } : {}),
    shutdownGraceTime: `${o.shutdownGraceSeconds ?? 30}s`,
    ...o.extra,
  });
}
