/**
 * The API as the API and CLI suites use it: the real app over a ProvisioningService on the real Temporal dev
 * server, and a worker running activity doubles on a task queue of its own. API and worker share an approval key
 * and the worker checks approvals for real (activities/approval.ts).
 */
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createApprovalActivities } from '../../activities/approval.js';
import { buildApp } from '../../api/app.js';
import type { TokenTable } from '../../api/auth.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import { generateApprovalKey } from '../../config/approval-key.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { activityDoubles } from '../../lab/activity-doubles.js';
import { devServerEnv, uniqueQueue, workflowBundle } from './temporal.js';

export interface ApiHarness {
  env: TestWorkflowEnvironment;
  app: Awaited<ReturnType<typeof buildApp>>;
  service: ProvisioningService;
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
}): Promise<ApiHarness> {
  const approvalKey = o.approvalKey === undefined ? Buffer.from(generateApprovalKey(), 'base64') : o.approvalKey;
  const env = await devServerEnv();
  const taskQueue = uniqueQueue(o.prefix);
  const settings = { ...readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS }), taskQueue };
  const service = new ProvisioningService(env.client, settings, { approvalKey: approvalKey ?? undefined });
  const app = await buildApp({
    service,
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
    workflowBundle: await workflowBundle(),
    activities: activityDoubles({ verifyApproval: createApprovalActivities(approvalKey ?? undefined).verifyApproval })
      .activities,
  });
  const running = worker.run();
  return {
    env,
    app,
    service,
    url,
    async close() {
      worker.shutdown();
      await running;
      await app.close();
      await env.teardown();
    },
  };
}
