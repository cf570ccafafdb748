/**
 * The Azure credential against the lab's token endpoint and ARM, with the real @azure/identity classes: the lab's
 * settings sign in as the lab service principal, a secret file works the same way and a wrong one is refused by the
 * token endpoint, and the worker process stops with exit code 2 when AZURE_CREDENTIAL or a setting it needs is missing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { connectAzure } from '../../../activities/azure/connect.js';
import { PROJECT_ROOT } from '../../../lab/paths.js';
import { KeyRing } from '../../../temporal/codec.js';
import { readAzureConfig } from '../../../worker/config/azure.js';
import { azureLabSettings, LAB_RG } from '../../support/azure-lab.js';

const dir = mkdtempSync(path.join(tmpdir(), 'azure-credential-'));

/** The lab's AZURE_* settings as exported, some replaced or (undefined) removed, as the worker would read them. */
function labEnv(changes: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  azureLabSettings();
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k.startsWith('AZURE_')),
  );
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

describe('the Azure credential the worker builds', () => {
  it('the lab settings choose client-secret and sign in as the lab principal, whom ARM then serves', async () => {
    const s = azureLabSettings();
    assert.equal(process.env.AZURE_CREDENTIAL, 'client-secret');
    const config = readAzureConfig(labEnv());
    assert.ok(config);
    const { clients } = connectAzure(config);
    const me = await clients.caller();
    assert.equal(me.tenantId, s.AZURE_TENANT_ID);
    const cluster = await clients.aks(config.subscriptionId).managedClusters.get(LAB_RG, 'aks-gmsa-lab');
    assert.equal(cluster.name, 'aks-gmsa-lab', 'ARM serves the signed-in principal');
  });

  it('reads the secret from AZURE_CLIENT_SECRET_FILE, and the token endpoint refuses a wrong one', async () => {
    const s = azureLabSettings();
    const good = path.join(dir, 'good-secret');
    writeFileSync(good, `${s.AZURE_CLIENT_SECRET}\n`, { mode: 0o600 });
    const fromFile = readAzureConfig(labEnv({ AZURE_CLIENT_SECRET: undefined, AZURE_CLIENT_SECRET_FILE: good }));
    assert.ok(fromFile);
    assert.equal((await connectAzure(fromFile).clients.caller()).tenantId, s.AZURE_TENANT_ID);

    const wrong = path.join(dir, 'wrong-secret');
    writeFileSync(wrong, 'not-the-secret\n', { mode: 0o600 });
    const refused = readAzureConfig(labEnv({ AZURE_CLIENT_SECRET: undefined, AZURE_CLIENT_SECRET_FILE: wrong }));
    assert.ok(refused);
    await assert.rejects(connectAzure(refused).clients.caller(), /AADSTS7000215/);
  });
});

/** Runs the worker entry point to its exit (it stops before connecting to Temporal); a deadline bounds it. */
function runWorker(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker', 'main.ts')], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH,
        GMSA_CODEC_KEYS: KeyRing.generateEntry('test-1'),
        // Nothing listens here: reaching Temporal would mean the configuration passed.
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the worker did not exit within 60 s; stderr: ${stderr}`));
    }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(deadline);
      resolve({ code, stderr });
    });
  });
}

describe('the worker with Azure configured but no usable credential', () => {
  it('exits 2 without AZURE_CREDENTIAL, naming it and every choice, and printing no secret', async () => {
    const s = azureLabSettings();
    const { code, stderr } = await runWorker(labEnv({ AZURE_CREDENTIAL: undefined, AZURE_LAB: undefined }));
    assert.equal(code, 2, stderr);
    assert.match(stderr, /bad configuration: AZURE_CREDENTIAL: is required with AZURE_SUBSCRIPTION_ID/);
    for (const kind of ['workload-identity', 'managed-identity', 'client-secret', 'developer'])
      assert.ok(stderr.includes(kind), `names ${kind}`);
    assert.ok(!stderr.includes(s.AZURE_CLIENT_SECRET as string), 'no secret in the message');
  });

  it('exits 2 naming the setting the chosen kind is missing', async () => {
    const { code, stderr } = await runWorker({
      AZURE_SUBSCRIPTION_ID: azureLabSettings().AZURE_SUBSCRIPTION_ID,
      AZURE_CREDENTIAL: 'workload-identity',
      AZURE_TENANT_ID: azureLabSettings().AZURE_TENANT_ID,
      AZURE_CLIENT_ID: azureLabSettings().AZURE_CLIENT_ID,
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /bad configuration: AZURE_FEDERATED_TOKEN_FILE: is required \(set by AKS workload identity/);
  });
});
