/**
 * The API as the API and CLI suites use it: the real app over a ProvisioningService and an OperationsService on the
 * real Temporal dev server, and a worker running activity doubles on a task queue of its own. API and worker share
 * an approval key and the worker checks approvals for real (activities/approval.ts). A suite may give the worker
 * overrides of single activities and a workflow bundle of its own.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createApprovalActivities } from '../../activities/approval.js';
import { buildApp } from '../../api/app.js';
import type { TokenTable } from '../../api/auth.js';
import { OperationsService, type OperationsServiceOptions } from '../../api/operations-service.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import { generateApprovalKey } from '../../config/approval-key.js';
import { FAILURE_CONVERTER_PATH } from '../../temporal/codec.js';
import { readTemporalSettings, type TemporalSettings } from '../../temporal/settings.js';
import { activityDoubles, type Overrides } from '../../lab/activity-doubles.js';
import { devServerEnv, uniqueQueue, workflowBundle } from './temporal.js';

let standIns: Promise<WorkflowBundleWithSourceMap> | undefined;
/**
 * The product's provisioning, and stand-ins under the day-2 workflow types (test/api/operation-stand-ins.ts) that
 * echo their input: for suites that test the API's side of an operation, whatever the real operations do. They
 * read the binding with readBinding: give the worker the real one (or an override).
 */
export function operationStandInBundle(): Promise<WorkflowBundleWithSourceMap> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  standIns ??= bundleWorkflowCode({
    workflowsPath: path.join(here, '..', 'api', 'operation-stand-ins.ts'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  return standIns;
}

export interface ApiHarness {
  env: TestWorkflowEnvironment;
  app: Awaited<ReturnType<typeof buildApp>>;
  service: ProvisioningService;
  operations: OperationsService;
  /** The API's Temporal settings; `taskQueue` is the worker's. */
  settings: TemporalSettings;
  taskQueue: string;
  /** Set when started with `listen`: the API's base URL on loopback. */
  url?: string;
  close(): Promise<void>;
}

export async function startApiHarness(o: {
  tokens: TokenTable;
  listen?: boolean;
  prefix: string;
  /** The API's approval key; `null`: the API has none. Default: a fresh key, the worker's too. */
  approvalKey?: Buffer | null;
  /** Activities that replace their double (a held step, a failing one). */
  overrides?: Overrides;
  /** The worker's workflows; default the product's. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  operationsOptions?: OperationsServiceOptions;
}): Promise<ApiHarness> {
  const approvalKey = o.approvalKey === undefined ? Buffer.from(generateApprovalKey(), 'base64') : o.approvalKey;
  const env = await devServerEnv();
  const taskQueue = uniqueQueue(o.prefix);
  const settings = { ...readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS }), taskQueue };
  const service = new ProvisioningService(env.client, settings, { approvalKey: approvalKey ?? undefined });
  const operations = new OperationsService(env.client, settings, o.operationsOptions);
  const app = await buildApp({
    service,
    operations,
    tokens: o.tokens,
    defaultSubscriptionId: '00000000-0000-0000-0000-000000000000',
  });
  let url: string | undefined;
  if (o.listen) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: o.workflowBundle ?? (await workflowBundle()),
    activities: activityDoubles({
      verifyApproval: createApprovalActivities(approvalKey ?? undefined).verifyApproval,
      ...o.overrides,
    }).activities,
  });
  const running = worker.run();
  return {
    env,
    app,
    service,
    operations,
    settings,
    taskQueue,
    url,
    async close() {
      worker.shutdown();
      await running;
      await app.close();
      await env.teardown();
    },
  };
}
