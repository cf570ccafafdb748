/**
 * Every metric family the product exports, by the name a Prometheus scrape shows: the worker's own (recorded
 * through the Temporal SDK's meter and served by the SDK's exporter, GMSA_WORKER_METRICS_ADDRESS), the Temporal SDK
 * families the dashboard reads, and the API's (`GET /metrics`). The dashboard (deploy/grafana/aks-gmsa.json) and its
 * test read the names from here; the worker's exporter takes the histogram buckets from here.
 *
 * As scraped: the SDK's exporter adds no `_total` and no unit suffix (worker/main.ts leaves both off), so a worker
 * counter is scraped under its own name and a histogram as `<name>_bucket`, `_sum`, `_count`. Ours also carry the
 * SDK meter's labels (`namespace`, `taskQueue`, and `activityType` or `workflowType`); the SDK's own families have
 * snake_case ones (`task_queue`, `service_name`). prom-client (the API) also exposes names as given.
 */

export type MetricKind = 'counter' | 'histogram' | 'gauge';

export interface MetricFamily {
  name: string;
  kind: MetricKind;
  /** The labels of ours (the SDK's come on top on the worker). */
  labels: readonly string[];
  /** Where a scrape finds it. */
  exporter: 'worker' | 'api';
  /** Who records it: the product's code, the Temporal SDK, or prom-client's Node defaults. */
  by: 'product' | 'sdk' | 'node';
  /** A histogram's upper bucket bounds, in its unit. */
  buckets?: readonly number[];
}

/** Seconds a step or a wait takes: from a fast LDAP read to a 30-minute Azure operation and the 10-hour KDS wait. */
const SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 36000];
/** Seconds an API request takes: milliseconds for a read, seconds at most for a start. */
const HTTP_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const STEP_DURATION = 'gmsa_step_duration_seconds';
export const STEP_ATTEMPTS = 'gmsa_step_attempts';
export const STEP_RETRIES = 'gmsa_step_retries';
export const HTTP_REQUESTS = 'gmsa_http_requests_total';
export const HTTP_DURATION = 'gmsa_http_request_duration_seconds';

/** A finished attempt of a step: `ok`, `failed` (retried or not), or `cancelled` (the run was told to stop). */
export type StepOutcome = 'ok' | 'failed' | 'cancelled';

export const METRIC_FAMILIES: readonly MetricFamily[] = [
  // The product's, on the worker.
  {
    name: STEP_DURATION,
    kind: 'histogram',
    labels: ['step', 'outcome'],
    exporter: 'worker',
    by: 'product',
    buckets: SECONDS_BUCKETS,
  },
  { name: STEP_ATTEMPTS, kind: 'counter', labels: ['step'], exporter: 'worker', by: 'product' },
  { name: STEP_RETRIES, kind: 'counter', labels: ['step', 'error_type'], exporter: 'worker', by: 'product' },
  { name: 'gmsa_approval_waits', kind: 'counter', labels: ['cluster'], exporter: 'worker', by: 'product' },
  {
    name: 'gmsa_approval_wait_seconds',
    kind: 'histogram',
    labels: ['cluster'],
    exporter: 'worker',
    by: 'product',
    buckets: SECONDS_BUCKETS,
  },
  { name: 'gmsa_repair_drift_found', kind: 'counter', labels: ['cluster'], exporter: 'worker', by: 'product' },
  { name: 'gmsa_repair_drift_fixed', kind: 'counter', labels: ['cluster'], exporter: 'worker', by: 'product' },
  // The Temporal SDK's: its labels are snake_case (`task_queue`, `namespace`, `service_name`); latencies in ms.
  {
    name: 'temporal_activity_schedule_to_start_latency',
    kind: 'histogram',
    labels: ['task_queue'],
    exporter: 'worker',
    by: 'sdk',
  },
  {
    name: 'temporal_workflow_task_schedule_to_start_latency',
    kind: 'histogram',
    labels: ['task_queue'],
    exporter: 'worker',
    by: 'sdk',
  },
  // `worker_type`: WorkflowWorker, ActivityWorker, LocalActivityWorker, NexusWorker.
  {
    name: 'temporal_worker_task_slots_available',
    kind: 'gauge',
    labels: ['worker_type', 'task_queue'],
    exporter: 'worker',
    by: 'sdk',
  },
  {
    name: 'temporal_worker_task_slots_used',
    kind: 'gauge',
    labels: ['worker_type', 'task_queue'],
    exporter: 'worker',
    by: 'sdk',
  },
  // The API's.
  { name: HTTP_REQUESTS, kind: 'counter', labels: ['route', 'method', 'status'], exporter: 'api', by: 'product' },
  {
    name: HTTP_DURATION,
    kind: 'histogram',
    labels: ['route', 'method', 'status'],
    exporter: 'api',
    by: 'product',
    buckets: HTTP_SECONDS_BUCKETS,
  },
  { name: 'process_cpu_seconds_total', kind: 'counter', labels: [], exporter: 'api', by: 'node' },
  { name: 'process_resident_memory_bytes', kind: 'gauge', labels: [], exporter: 'api', by: 'node' },
  { name: 'nodejs_eventloop_lag_p99_seconds', kind: 'gauge', labels: [], exporter: 'api', by: 'node' },
  { name: 'nodejs_heap_size_used_bytes', kind: 'gauge', labels: [], exporter: 'api', by: 'node' },
];

/** A family by name (throws for a name not listed: a typo is a bug, not a new metric). */
export function metricFamily(name: string): MetricFamily {
  const f = METRIC_FAMILIES.find((m) => m.name === name);
  if (!f) throw new Error(`no metric family ${name} in contract/metrics.ts`);
  return f;
}

/** The worker's histograms of ours, for the SDK exporter's histogramBucketOverrides (its defaults are ms-sized). */
export function workerHistogramBuckets(): Record<string, number[]> {
  return Object.fromEntries(
    METRIC_FAMILIES.filter((m) => m.exporter === 'worker' && m.buckets).map((m) => [m.name, [...m.buckets!]]),
  );
}
