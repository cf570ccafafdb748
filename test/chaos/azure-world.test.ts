/**
 * Chaos: the Azure fake stopped and started again on a kept world (issue 13; lab/azure/world-file.ts). A fake of
 * this file's own, in a throwaway directory, keeps its world in a file; an identity, a vault (a long-running create,
 * still running at the stop) and a secret are made through the real SDK clients; the fake stops and a new one
 * starts on the same file: every object is found, the vault's data plane answers at the same vaultUri with the
 * secret's value, and the lab client's credentials still sign in. A fake without a file starts from the seed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { connectAzure } from '../../activities/azure/connect.js';
import type { AzureClients } from '../../activities/azure/clients.js';
import { ensureCertificates } from '../../lab/azure/certs.js';
import { startAzureFake, type AzureFake } from '../../lab/azure/server.js';
import { labSettings } from '../../lab/azure/settings.js';
import { LAB_LOCATION, LAB_RESOURCE_GROUP, LAB_SUBSCRIPTION } from '../../lab/azure/world.js';
import { readAzureConfig } from '../../worker/config/azure.js';
import { reportRecovery } from '../support/chaos.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'aks-gmsa-chaos-azure-'));
const certs = ensureCertificates(dir);
const file = path.join(dir, 'world.json');
const fakes: AzureFake[] = [];

after(async () => {
  for (const f of fakes) await f.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function fake(worldFile?: string): Promise<{ fake: AzureFake; clients: AzureClients }> {
  const f = await startAzureFake({ certs, clientSecret: `secret-${fakes.length}`, worldFile });
  fakes.push(f);
  const config = readAzureConfig(labSettings(f.armEndpoint, f.world(), certs.caFile));
  assert.ok(config);
  return { fake: f, clients: connectAzure({ ...config, pollIntervalMs: 20 }).clients };
}

test('the Azure fake restarted on its kept world finds its objects', { timeout: 120_000 }, async () => {
  const first = await fake(file);
  const msi = first.clients.msi(LAB_SUBSCRIPTION).userAssignedIdentities;
  const kv = first.clients.keyVault(LAB_SUBSCRIPTION).vaults;
  const identity = await msi.createOrUpdate(LAB_RESOURCE_GROUP, 'mi-kept', { location: LAB_LOCATION });
  const { tenantId, client } = first.fake.world();
  const vault = await kv.beginCreateOrUpdateAndWait(LAB_RESOURCE_GROUP, 'kv-kept', {
    location: LAB_LOCATION,
    properties: {
      tenantId,
      sku: { family: 'A', name: 'standard' },
      enableRbacAuthorization: false,
      accessPolicies: [{ tenantId, objectId: client.objectId, permissions: { secrets: ['get', 'set'] } }],
    },
  });
  const vaultUri = vault.properties.vaultUri!;
  await first.clients.secrets(vaultUri).setSecret('kept', 'the value');
  // A second vault whose create is still running when the fake stops: it finishes before the last write.
  const running = await kv.beginCreateOrUpdate(LAB_RESOURCE_GROUP, 'kv-running', {
    location: LAB_LOCATION,
    properties: { tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [] },
  });
  assert.equal(running.isDone(), false, 'the create is still running at the stop');
  const stoppedAt = Date.now();
  await first.fake.close();
  fakes.shift();

  const second = await fake(file);
  const back = Date.now() - stoppedAt;
  assert.equal(second.fake.world().client.clientSecret, 'secret-0', "the lab client's secret is the kept world's");
  const again = await second.clients.msi(LAB_SUBSCRIPTION).userAssignedIdentities.get(LAB_RESOURCE_GROUP, 'mi-kept');
  assert.equal(again.principalId, identity.principalId);
  const vaults = second.clients.keyVault(LAB_SUBSCRIPTION).vaults;
  const kept = await vaults.get(LAB_RESOURCE_GROUP, 'kv-kept');
  assert.equal(kept.properties.vaultUri, vaultUri, 'the data plane is back at the same address');
  assert.equal((await second.clients.secrets(vaultUri).getSecret('kept')).value, 'the value');
  assert.equal((await vaults.get(LAB_RESOURCE_GROUP, 'kv-running')).properties.provisioningState, 'Succeeded');
  reportRecovery('azure-restart', back, 'a new fake on the kept world answering');

  // Without a file, the seed: nothing of the above.
  const fresh = await fake();
  await assert.rejects(
    fresh.clients.msi(LAB_SUBSCRIPTION).userAssignedIdentities.get(LAB_RESOURCE_GROUP, 'mi-kept'),
    (e: { statusCode?: number }) => e.statusCode === 404,
  );
});
