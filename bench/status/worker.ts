/**
 * The bench's worker, a process of its own so its CPU time is its own: the product's workflows (bundled from the
 * sources) over zero-latency activity doubles, with the bench's key ring. Prints `ready` once it polls.
 */
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { activityDoubles } from '../../lab/activity-doubles.js';
import { FAILURE_CONVERTER_PATH, KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { createWorker, WORKFLOWS_PATH } from '../../worker/create-worker.js';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const settings = { ...readTemporalSettings(process.env), taskQueue: process.env.BENCH_TASK_QUEUE ?? 'bench' };
  const keyRing = KeyRing.parse(process.env.BENCH_KEYS ?? '', 'BENCH_KEYS');
  const noop = () => {};
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop },
  });
  const worker = await createWorker({ settings, activities: activityDoubles().activities, keyRing, workflowBundle });
  process.on('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  console.log('ready');
  await running;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
