/**
 * What the browser test and the README screenshots look at: a throwaway Temporal dev server WITH its web UI (free
 * ports) pointed at this API's codec, the API with the codec and CORS for that UI, and a worker running the product's
 * workflows over activity doubles with encrypted payloads. It starts one provisioning that finishes and one that
 * waits for the AD operator's approval. Everything on loopback; `close()` stops what it started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createApprovalActivities } from '../activities/approval.js';
import { buildApp } from '../api/app.js';
import { TokenTable } from '../api/auth.js';
import { ProvisioningService } from '../api/provisioning-service.js';
import { generateApprovalKey } from '../config/approval-key.js';
import { activityDoubles } from '../lab/activity-doubles.js';
import { exampleRequest } from '../lab/example-request.js';
import { freePort } from '../lab/process.js';
import { TemporalExited, temporalLab } from '../lab/temporal.js';
import { dataConverter, KeyRing } from '../temporal/codec.js';
import { readTemporalSettings } from '../temporal/settings.js';
import { createWorker } from '../worker/create-worker.js';

export const STAND_TOKENS = { viewer: 'stand-viewer-token-0123456789', operator: 'stand-operator-token-0123456789' };

export interface UiStand {
  uiUrl: string;
  apiUrl: string;
  /** A provisioning that completed, and one that waits for approval. */
  finishedId: string;
  waitingId: string;
  /** The finished run's request: what decoded input must show. */
  finishedRequest: ReturnType<typeof exampleRequest>;
  close(): Promise<void>;
}

async function startTemporal(dir: string, codecEndpoint: string) {
  // The dev server binds its ports itself: one taken between choosing and binding is tried again on others.
  for (let attempt = 1; ; attempt++) {
    const sub = path.join(dir, `temporal-${attempt}`);
    const part = temporalLab({
      port: await freePort(),
      uiPort: await freePort(),
      dir: sub,
      dbFile: path.join(sub, 'db.sqlite'),
      codecEndpoint,
    });
    try {
      return { part, env: await part.start() };
    } catch (err) {
      await part.stop().catch(() => undefined);
      if (!(err instanceof TemporalExited && err.portTaken) || attempt === 5) throw err;
    }
  }
}

export async function startUiStand(log: (line: string) => void = () => undefined): Promise<UiStand> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aks-gmsa-ui-'));
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const closers: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((e: unknown) => log(`stand: closing: ${String(e)}`));
  };
  try {
    const { part, env } = await startTemporal(dir, `${apiUrl}/codec`);
    closers.push(() => part.stop());
    const uiUrl = env.TEMPORAL_UI_URL!;
    log(`stand: temporal ${env.TEMPORAL_ADDRESS}, UI ${uiUrl}`);
    const settings = { ...readTemporalSettings(env), taskQueue: `ui-stand-${process.pid}` };
    const keyRing = KeyRing.parse(KeyRing.generateEntry('stand'), 'stand');
    const approvalKey = Buffer.from(generateApprovalKey(), 'base64');
    const converter = dataConverter(keyRing);
    const connection = await Connection.connect({ address: settings.address });
    closers.push(() => connection.close());
    const client = new Client({ connection, dataConverter: converter });
    const { verifyApproval } = createApprovalActivities(approvalKey);
    const worker = await createWorker({
      settings,
      activities: activityDoubles({ verifyApproval }).activities,
      keyRing,
    });
    const running = worker.run();
    closers.push(async () => {
      worker.shutdown();
      await running;
    });
    const service = new ProvisioningService(client, settings, { approvalKey });
    const app = await buildApp({
      service,
      tokens: TokenTable.parse(`viewer:${STAND_TOKENS.viewer},operator:${STAND_TOKENS.operator}`),
      codec: converter.payloadCodecs[0],
      codecCorsOrigins: [uiUrl],
    });
    await app.listen({ host: '127.0.0.1', port: apiPort });
    closers.push(() => app.close());
    log(`stand: API ${apiUrl}`);

    const start = async (body: unknown) => {
      const res = await fetch(`${apiUrl}/v1/provisionings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${STAND_TOKENS.operator}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 202)
        throw new Error(`stand: POST /v1/provisionings answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    };
    const finishedRequest = exampleRequest({ spec: 'webapp01' });
    const finishedId = await start(finishedRequest);
    await client.workflow.getHandle(finishedId).result();
    const waiting = exampleRequest({ spec: 'billing02', options: { requireAdApproval: true } });
    waiting.gmsa = { name: 'billing02', standardUser: 'gmsa-billing02', credentialSpecName: 'billing02' };
    waiting.azure.keyVault = { name: 'kv-gmsa-02', secretName: 'gmsa-billing02' };
    const waitingId = await start(waiting);
    // Waiting means the run reports its approval step as waiting (the API's own view of it).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const view = await service.get(waitingId);
      if (view.steps.some((s) => s.name === 'awaitAdApproval' && s.status === 'waiting')) break;
      if (Date.now() > deadline)
        throw new Error(`stand: ${waitingId} never waited for approval: ${JSON.stringify(view)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    log(`stand: ${finishedId} completed, ${waitingId} waits for approval`);
    return { uiUrl, apiUrl, finishedId, waitingId, finishedRequest, close };
  } catch (err) {
    await close();
    throw err;
  }
}
