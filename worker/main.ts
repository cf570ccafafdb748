/**
 * The worker process: validated configuration, real activities, one Temporal worker. SIGTERM/SIGINT stop polling
 * and give in-flight activities the grace period to finish; what does not finish is retried by another worker.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createRealActivities } from './activities.js';
import { readWorkerConfig } from './config/index.js';
import { createWorker, prebuiltWorkflowBundle, WORKFLOWS_PATH } from './create-worker.js';
import { createLogger } from '../config/logger.js';
import { workerHistogramBuckets } from '../contract/metrics.js';
import { missingSearchAttributes, registerCommands } from '../temporal/namespace-check.js';

async function main(): Promise<void> {
  let config;
  try {
    config = readWorkerConfig();
  } catch (err) {
    console.error(`worker: bad configuration: ${(err as Error).message}`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel, 'worker');
  let activities;
  try {
    activities = await createRealActivities(process.env, log);
  } catch (err) {
    console.error(`worker: bad configuration: ${(err as Error).message}`);
    process.exit(2);
  }
  // The runtime turns SIGINT/SIGTERM into worker.shutdown(): polling stops, in-flight tasks get shutdownGraceTime.
  // The SDK's own log (bundler output, state changes) only at debug; our pino log says what matters.
  const sdkLevel = config.logLevel === 'debug' || config.logLevel === 'trace' ? 'DEBUG' : 'WARN';
  // GMSA_WORKER_METRICS_ADDRESS (host:port): the SDK's Prometheus exporter serves /metrics there: its own metrics
  // and the product's (contract/metrics.ts): the step metrics (worker/step-metrics.ts), what workflows count
  // through metricMeter (approval waits, the repair's drift counters).
  const metricsAddress = process.env.GMSA_WORKER_METRICS_ADDRESS?.trim();
  Runtime.install({
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    logger: new DefaultLogger(sdkLevel),
    // Our histograms in seconds with buckets of their own (the SDK's defaults are milliseconds, up to 10 s).
    ...(metricsAddress
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: { bindAddress: metricsAddress, histogramBucketOverrides: workerHistogramBuckets() },
            },
          },
        }
      : {}),
  });
  // A namespace without the product's search attributes would stall every run at its first upsert: say so now.
  // A server that does not let this worker list them (permissions) is not refused: the runs will tell.
  const missing = await missingSearchAttributes(config.temporal).catch((err: unknown) => {
    log.warn({ err: (err as Error).message }, 'could not list the namespace search attributes');
    return [];
  });
  if (missing.length) {
    console.error(
      `worker: namespace ${config.temporal.namespace} lacks the search attributes ${missing.join(', ')}; ` +
        `register them first:\n${registerCommands(config.temporal.namespace, missing).join('\n')}`,
    );
    process.exit(2);
  }
  const worker = await createWorker({
    settings: config.temporal,
    activities,
    keyRing: config.keyRing,
    shutdownGraceSeconds: config.shutdownGraceSeconds,
    maxCachedWorkflows: config.maxCachedWorkflows,
    maxConcurrentActivities: config.maxConcurrentActivities,
  }).catch((err: unknown) => {
    throw new Error(
      `cannot start on Temporal at ${config.temporal.address} (TEMPORAL_ADDRESS): ${(err as Error).message}`,
    );
  });
  const bundle = prebuiltWorkflowBundle();
  log.info(
    {
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      workflows: bundle ? `prebuilt ${bundle}` : `bundled at start from ${WORKFLOWS_PATH}`,
      readyAfterMs: Math.round(performance.now()),
    },
    'worker started',
  );
  await worker.run();
  log.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error('worker: fatal:', err instanceof Error ? err.message : err);
  process.exit(1);
});
