/**
 * The whole product against the whole lab: the real worker activities (Samba AD DC, the ARM fake and its vaults,
 * the real kube-apiserver), the API with encrypted payloads, and the README's lab request. It must complete with
 * every step succeeded, a second identical request must change nothing, and no secret (the generated password,
 * the domain-admin password, the Key Vault secret value) may appear in the raw history, a log line or an answer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { connectAzure } from '../../activities/azure-connect.js';
import { createSecretReader } from '../../activities/key-vault.js';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import { PROJECT_ROOT } from '../../lab/paths.js';
import { dataConverter, ENCODING, KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings } from '../../temporal/settings.js';
import { createRealActivities } from '../../worker/activities.js';
import { readAzureConfig } from '../../worker/config/azure.js';
import { createWorker } from '../../worker/create-worker.js';
import { createLogger } from '../../worker/logger.js';
import { devServerEnv, requireEnv, uniqueQueue, workflowBundle } from '../support/temporal.js';

const TOKENS = {
  operator: 'e2e-operator-token-000000',
  viewer: 'e2e-viewer-token-0000000',
  approver: 'e2e-approver-token-00000',
};
const as = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` });

/** Log lines of worker and API, kept to search for secrets. */
const logLines: string[] = [];
const capture = new Writable({
  write(chunk, _enc, done) {
    logLines.push(String(chunk));
    done();
  },
});

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let app: Awaited<ReturnType<typeof buildApp>>;
const answers: string[] = [];

before(async () => {
  for (const v of ['AD_URL', 'AZURE_ARM_ENDPOINT', 'KUBECONFIG']) requireEnv(v, 'the e2e test needs the whole lab');
  env = await devServerEnv();
  const ring = KeyRing.parse(KeyRing.generateEntry('e2e-1'), 'test');
  const settings = {
    ...readTemporalSettings({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS }),
    taskQueue: uniqueQueue('e2e'),
  };
  const log = createLogger('info', 'worker', capture);
  worker = await createWorker({
    connection: env.nativeConnection,
    settings,
    activities: await createRealActivities(process.env, log),
    keyRing: ring,
    workflowBundle: await workflowBundle(),
  });
  running = worker.run();
  const converter = dataConverter(ring);
  const client = new Client({ connection: env.connection, dataConverter: converter });
  app = await buildApp({
    service: new ProvisioningService(client, settings),
    tokens: TokenTable.parse(`operator:${TOKENS.operator},viewer:${TOKENS.viewer},approver:${TOKENS.approver}`),
    codec: converter.payloadCodecs[0],
    codecCorsOrigins: ['http://127.0.0.1:8233'],
    logger: createLogger('info', 'api', capture),
  });
});

after(async () => {
  worker?.shutdown();
  await running;
  await app?.close();
  await env?.teardown();
});

async function call(method: 'GET' | 'POST', url: string, role: keyof typeof TOKENS, payload?: object) {
  const res = await app.inject({ method, url, headers: as(role), payload });
  answers.push(res.body);
  return res;
}

type View = { id: string; status: string; phase: string; steps: { name: string; status: string; summary?: string }[] };

async function provision(): Promise<View> {
  const request = JSON.parse(readFileSync(`${PROJECT_ROOT}/examples/lab-request.json`, 'utf8'));
  const res = await call('POST', '/v1/provisionings', 'operator', request);
  assert.equal(res.statusCode, 202, res.body);
  const { id } = res.json();
  const deadline = Date.now() + 240_000;
  for (;;) {
    const view = (await call('GET', `/v1/provisionings/${id}`, 'viewer')).json() as View;
    if (view.status !== 'RUNNING') return view;
    // Approve when asked: the lab key is backdated, so normally there is nothing to wait for.
    if (view.steps.find((s) => s.name === 'awaitAdApproval')?.status === 'waiting') {
      await call('POST', `/v1/provisionings/${id}/approve`, 'approver', {});
    }
    assert.ok(Date.now() < deadline, `still running: ${view.phase}`);
    await delay(500);
  }
}

let first: View;
let second: View;

describe('a lab provisioning end to end', () => {
  test('the README lab request completes with every step succeeded', async () => {
    first = await provision();
    const failed = first.steps.filter((s) => s.status !== 'succeeded');
    assert.equal(first.status, 'COMPLETED', `${first.phase}: ${JSON.stringify(failed)}`);
    assert.deepEqual(failed, []);
    assert.match(
      first.steps.find((s) => s.name === 'verifyChain')!.summary!,
      /✔ Key Vault secret.*✔ AD bind.*✔ gMSA managed password.*✔ RBAC/,
    );
  });

  test('a second identical request changes nothing', async () => {
    assert.ok(first, 'needs the first provisioning');
    second = await provision();
    assert.equal(second.status, 'COMPLETED', second.phase);
    const summary = (name: string) => second.steps.find((s) => s.name === name)!.summary!;
    assert.equal(summary('confirmAksGmsa'), 'gMSA already enabled');
    for (const name of [
      'ensureManagedIdentity',
      'ensureKeyVault',
      'ensureKdsRootKey',
      'ensureDomainUser',
      'ensureGmsa',
    ]) {
      assert.match(summary(name), /^found /, `${name}: ${summary(name)}`);
    }
    assert.match(summary('storeUserSecret'), /^kept the secret/);
    assert.match(summary('ensureCredentialSpec'), /^unchanged spec/);
  });

  test('no secret in the raw history, the logs or the API answers; the codec endpoint decodes for a viewer only', async () => {
    assert.ok(second, 'needs both provisionings');
    const azure = readAzureConfig(process.env)!;
    const secrets = createSecretReader(connectAzure(azure).clients);
    const secretValue = await secrets.read(
      await vaultUriOf(first.id),
      JSON.parse(readFileSync(`${PROJECT_ROOT}/examples/lab-request.json`, 'utf8')).azure.keyVault.secretName,
    );
    const password = secretValue.slice(secretValue.indexOf(':', secretValue.indexOf('\\')) + 1);
    const adminPassword = process.env.AD_BIND_PASSWORD!;
    assert.ok(password.length >= 16 && adminPassword.length >= 8);
    const forbidden = {
      'generated password': password,
      'domain-admin password': adminPassword,
      'secret value': secretValue,
    };

    // The raw history, as Temporal stores it and its UI fetches it without the codec.
    const raw = new Client({ connection: env.connection });
    for (const view of [first, second]) {
      const history = await raw.workflow.getHandle(view.id).fetchHistory();
      const text = JSON.stringify(history);
      const payloads = collectPayloads(history);
      assert.ok(payloads.length > 20, 'the history holds payloads');
      for (const p of payloads) {
        const encoding = Buffer.from(p.metadata?.encoding ?? []).toString();
        assert.equal(encoding, ENCODING, `every payload is encrypted: ${p.path} is ${encoding}`);
      }
      const bytes = Buffer.concat(payloads.map((p) => Buffer.from(p.data ?? [])));
      for (const [what, value] of Object.entries(forbidden)) {
        assert.ok(!text.includes(value) && !bytes.includes(value), `the raw history holds the ${what}`);
      }
      assert.ok(!bytes.includes('gmsa-webapp01'), 'without the codec even names are unreadable');

      // Through the codec endpoint the same payloads decode, and still hold no secret.
      const body = { payloads: payloads.map((p) => toJson(p)) };
      const denied = await app.inject({ method: 'POST', url: '/codec/decode', payload: body });
      assert.equal(denied.statusCode, 401, 'the codec endpoint refuses without a token');
      const decoded = await app.inject({ method: 'POST', url: '/codec/decode', headers: as('viewer'), payload: body });
      assert.equal(decoded.statusCode, 200);
      const plain = Buffer.concat(
        (decoded.json().payloads as { data: string }[]).map((p) => Buffer.from(p.data, 'base64')),
      ).toString();
      assert.match(plain, /gmsa-webapp01/, 'decoded payloads are readable');
      for (const [what, value] of Object.entries(forbidden))
        assert.ok(!plain.includes(value), `a payload holds the ${what}`);
    }

    const logs = logLines.join('');
    assert.ok(logs.includes('domain user ensured'), 'the worker logged its work');
    const apiAnswers = answers.join('\n');
    for (const [what, value] of Object.entries(forbidden)) {
      assert.ok(!logs.includes(value), `a log line holds the ${what}`);
      assert.ok(!apiAnswers.includes(value), `an API answer holds the ${what}`);
    }
  });
});

type RawPayload = { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null; path?: string };

/** Every payload anywhere in a history (inputs, results, signals, failures' details). */
function collectPayloads(node: unknown, out: RawPayload[] = [], path = ''): RawPayload[] {
  if (!node || typeof node !== 'object') return out;
  if (node instanceof Uint8Array) return out;
  const n = node as Record<string, unknown>;
  if (n.metadata && typeof n.metadata === 'object' && n.data instanceof Uint8Array)
    out.push({ ...(n as RawPayload), path });
  // Search attributes stay readable by design (the server indexes them): cluster and spec names only.
  else for (const [k, v] of Object.entries(n)) if (k !== 'searchAttributes') collectPayloads(v, out, `${path}/${k}`);
  return out;
}

function toJson(p: RawPayload) {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

async function vaultUriOf(id: string): Promise<string> {
  const view = (await call('GET', `/v1/provisionings/${id}`, 'viewer')).json() as { outputs: { secretUri: string } };
  return `${new URL(view.outputs.secretUri).origin}/`;
}
