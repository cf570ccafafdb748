/**
 * The lab ARM fake's own rules, seen through the real SDK clients: AKS's gMSA checks, the error bodies, token and
 * api-version checks, concurrent-operation conflicts, and the vault data plane enforcing its access model.
 */
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ClientSecretCredential } from '@azure/identity';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pipelineOptions } from '../../../activities/azure-clients.js';
import { connectAzure } from '../../../activities/azure-connect.js';
import { createKeyVaultActivities } from '../../../activities/key-vault.js';
import {
  admin,
  azureLabSettings,
  failure,
  LAB_RG,
  labClients,
  labConnection,
  LOCATION,
  seedCluster,
  unique,
} from '../../support/azure-lab.js';

const rejectsWith = (p: Promise<unknown>, status: number, code: string, message?: RegExp) =>
  assert.rejects(p, (e: { statusCode?: number; code?: string; message?: string }) => {
    assert.equal(e.statusCode, status);
    assert.equal(e.code, code);
    if (message) assert.match(String(e.message), message);
    return true;
  });

describe('lab ARM fake', () => {
  it('serves the seeded world of DESIGN', async () => {
    const s = azureLabSettings();
    const clients = labClients();
    const mc = await clients.aks(s.AZURE_SUBSCRIPTION_ID as string).managedClusters.get('rg-gmsa-lab', 'aks-gmsa-lab');
    assert.equal(mc.nodeResourceGroup, 'MC_rg-gmsa-lab_aks-gmsa-lab_westeurope');
    assert.deepEqual(
      mc.agentPoolProfiles?.map((p) => [p.name, p.osType]),
      [
        ['nodepool1', 'Linux'],
        ['win1', 'Windows'],
      ],
    );
    assert.ok(mc.identityProfile?.kubeletidentity?.objectId);
  });

  it('enforces AKS gMSA rules: dnsServer with rootDomainName, and a managed identity', async () => {
    const c = await seedCluster();
    const aks = labClients().aks(c.subscriptionId).managedClusters;
    const mc = await aks.get(c.resourceGroup, c.name);
    mc.windowsProfile = {
      ...mc.windowsProfile,
      adminUsername: 'azureuser',
      gmsaProfile: { enabled: true, dnsServer: '10.0.0.4' },
    };
    await rejectsWith(
      aks.beginCreateOrUpdateAndWait(c.resourceGroup, c.name, mc),
      400,
      'InvalidParameter',
      /set together/,
    );
    const sp = await seedCluster({ managedIdentity: false });
    const spc = await aks.get(sp.resourceGroup, sp.name);
    spc.windowsProfile = { ...spc.windowsProfile, adminUsername: 'azureuser', gmsaProfile: { enabled: true } };
    await rejectsWith(
      aks.beginCreateOrUpdateAndWait(sp.resourceGroup, sp.name, spc),
      400,
      'BadRequest',
      /^Windows GMSA requires managed identity\.$/,
    );
  });

  it('answers 409 to a cluster PUT while another is running', async () => {
    const c = await seedCluster();
    const aks = labClients().aks(c.subscriptionId).managedClusters;
    await admin().knobs({ lroMs: { [`PUT managedClusters@${c.name}`]: 400 } });
    const mc = await aks.get(c.resourceGroup, c.name);
    const first = await aks.beginCreateOrUpdate(c.resourceGroup, c.name, mc);
    await rejectsWith(aks.beginCreateOrUpdate(c.resourceGroup, c.name, mc), 409, 'OperationNotAllowed');
    await first.pollUntilDone();
  });

  it('refuses a scale-set identity that does not exist', async () => {
    const c = await seedCluster();
    const bogus = `/subscriptions/${c.subscriptionId}/resourceGroups/${LAB_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/none`;
    const vmss = labClients().compute(c.subscriptionId).virtualMachineScaleSets;
    await rejectsWith(
      vmss.beginUpdateAndWait(c.nodeResourceGroup, 'akswin1', {
        identity: { type: 'UserAssigned', userAssignedIdentities: { [bogus]: {} } },
      }),
      400,
      'FailedIdentityOperation',
    );
  });

  it('refuses api-versions the real clients do not send, and calls without a valid token', async () => {
    const c = await seedCluster();
    const s = azureLabSettings();
    const { credential } = connectAzure(labConnection());
    const caPem = readFileSync(s.AZURE_CA_FILE as string, 'utf8');
    const endpoint = s.AZURE_ARM_ENDPOINT as string;
    const old = new ContainerServiceClient(credential, c.subscriptionId, {
      endpoint,
      $host: endpoint,
      credentialScopes: [`${endpoint}/.default`],
      apiVersion: '2017-08-31',
      ...pipelineOptions({ caPem }),
    });
    await rejectsWith(old.managedClusters.get(c.resourceGroup, c.name), 400, 'NoRegisteredProviderFound');
    const wrong = new ClientSecretCredential(s.AZURE_TENANT_ID as string, s.AZURE_CLIENT_ID as string, 'wrong', {
      authorityHost: s.AZURE_AUTHORITY_HOST,
      disableInstanceDiscovery: true,
      ...pipelineOptions({ caPem }),
    });
    await assert.rejects(wrong.getToken(`${s.AZURE_ARM_ENDPOINT}/.default`), /AADSTS7000215/);
  });

  it('the vault data plane refuses a caller without a policy, and the activity fails at once', async () => {
    const clients = labClients();
    const sub = azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
    const name = unique('kv-f-');
    const me = await clients.caller();
    const vault = await clients.keyVault(sub).vaults.createOrUpdate(LAB_RG, name, {
      location: LOCATION,
      properties: { tenantId: me.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [] },
    });
    const f = await failure(
      createKeyVaultActivities(clients).storeUserSecret({
        vaultUri: String(vault.properties.vaultUri),
        secretName: 's',
        domainFqdn: 'lab.example.test',
        user: 'u1',
      }),
    );
    assert.equal(f.type, 'Forbidden');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /does not have secrets get permission/);
  });
});
