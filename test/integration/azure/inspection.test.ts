/**
 * inspectCluster and listSecretReaders with the real @azure/arm-containerservice, arm-compute, arm-keyvault and
 * arm-authorization clients against the lab ARM fake: every pool with its scale set's identities, and every
 * principal with a grant on a secret, by access policy or by role assignment at or above the secret. Read-only:
 * the fake's request log shows no write.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAksActivities } from '../../../activities/azure/aks.js';
import { createInspectionActivities } from '../../../activities/azure/inspection.js';
import { createKeyVaultActivities } from '../../../activities/azure/key-vault.js';
import { ROLE, assignmentName } from '../../../activities/azure/vault-access.js';
import {
  failure,
  LAB_RG,
  labClients,
  LOCATION,
  mark,
  requestsSince,
  seedCluster,
  unique,
} from '../../support/azure-lab.js';

const owner = { binding: unique('gmsa-insp-t-'), adopt: [] };
const tail = (id: string) => id.split('/').pop();

describe('inspectCluster', () => {
  it('lists every pool with OS, SKU, scale set and its identities, and the cluster facts, writing nothing', async () => {
    const cluster = await seedCluster({
      linuxPools: ['system', 'lin2'],
      windowsPools: ['win1', 'win2'],
      extraScaleSetIdentity: true,
    });
    const clients = labClients();
    const since = await mark();
    const facts = await createInspectionActivities(clients).inspectCluster({ cluster });
    assert.match(facts.clusterId, new RegExp(`/managedClusters/${cluster.name}$`));
    assert.equal(facts.nodeResourceGroup, cluster.nodeResourceGroup);
    assert.equal(facts.gmsaEnabled, false);
    assert.equal(facts.provisioningState, 'Succeeded');
    assert.equal(tail(facts.kubeletIdentity?.resourceId ?? ''), `${cluster.name}-agentpool`);
    const byName = Object.fromEntries(facts.pools.map((p) => [p.name, p]));
    assert.deepEqual(Object.keys(byName).sort(), ['lin2', 'system', 'win1', 'win2']);
    assert.deepEqual([byName.system?.osType, byName.system?.osSku, byName.system?.mode], ['Linux', 'Ubuntu', 'System']);
    assert.deepEqual(
      [byName.win2?.osType, byName.win2?.osSku, byName.win2?.scaleSet],
      ['Windows', 'Windows2022', 'akswin2'],
    );
    assert.match(byName.lin2?.scaleSet ?? '', /^aks-lin2-\d+-vmss$/);
    assert.deepEqual(byName.win1?.identities.map(tail).sort(), [
      `${cluster.name}-agentpool`,
      `${cluster.name}-monitoring`,
    ]);
    assert.deepEqual(
      byName.system?.identities.map(tail),
      [`${cluster.name}-agentpool`],
      'Linux pools: the kubelet only',
    );
    const kubeletKey = byName.win1?.identities.find((id) => id.endsWith('-agentpool')) as string;
    assert.equal(byName.win1?.identityPrincipals?.[kubeletKey], facts.kubeletIdentity?.objectId);
    const writes = (await requestsSince(since, cluster.name)).filter((r) => r.method !== 'GET');
    assert.deepEqual(writes, [], 'an inspection writes nothing');
  });

  it('a pool added by an agent-pool PUT (as AKS does) shows with its new scale set, carrying the kubelet only', async () => {
    const cluster = await seedCluster({ extraScaleSetIdentity: true });
    const clients = labClients();
    const aks = clients.aks(cluster.subscriptionId);
    const created = await aks.agentPools.beginCreateOrUpdateAndWait(
      cluster.resourceGroup,
      cluster.name,
      'win2',
      { osType: 'Windows', osSKU: 'Windows2025', count: 2, vmSize: 'Standard_D4s_v3', mode: 'User' },
      { updateIntervalInMs: 20 },
    );
    assert.equal(created.provisioningState, 'Succeeded');
    assert.equal(created.osSKU, 'Windows2025');
    const facts = await createInspectionActivities(clients).inspectCluster({ cluster });
    const win2 = facts.pools.find((p) => p.name === 'win2');
    assert.deepEqual([win2?.osType, win2?.osSku, win2?.scaleSet], ['Windows', 'Windows2025', 'akswin2']);
    assert.deepEqual(win2?.identities.map(tail), [`${cluster.name}-agentpool`], 'no identity another pool got');
    const vmss = await clients
      .compute(cluster.subscriptionId)
      .virtualMachineScaleSets.get(cluster.nodeResourceGroup, 'akswin2');
    assert.equal(vmss.sku?.capacity, 2);
    assert.equal(vmss.tags?.['aks-managed-poolName'], 'win2');

    const refused = await aks.agentPools
      .beginCreateOrUpdateAndWait(cluster.resourceGroup, cluster.name, 'win1234', { osType: 'Windows' })
      .then(
        () => undefined,
        (e: { statusCode?: number; message?: string }) => e,
      );
    assert.equal(refused?.statusCode, 400);
    assert.match(String(refused?.message), /at most 6 characters for a Windows pool/);
    const linuxToWindows = await aks.agentPools
      .beginCreateOrUpdateAndWait(cluster.resourceGroup, cluster.name, 'nodepool1', { osType: 'Windows' })
      .then(
        () => undefined,
        (e: { statusCode?: number; code?: string }) => e,
      );
    assert.equal(linuxToWindows?.code, 'PropertyChangeNotAllowed');
  });

  it('reports gMSA as enabled once the cluster has it', async () => {
    const cluster = await seedCluster();
    const clients = labClients();
    await createAksActivities(clients).confirmAksGmsa({ cluster, domainFqdn: 'lab.example.test', enable: true });
    const facts = await createInspectionActivities(clients).inspectCluster({ cluster });
    assert.equal(facts.gmsaEnabled, true);
  });

  it('an unknown cluster fails at once, naming it', async () => {
    const cluster = await seedCluster();
    const f = await failure(
      createInspectionActivities(labClients()).inspectCluster({ cluster: { ...cluster, name: `${cluster.name}x` } }),
    );
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, new RegExp(`${cluster.name}x`));
  });
});

/** A vault of `accessMode` made by the product's own activity (which gives the worker its write access). */
async function vault(accessMode: 'accessPolicy' | 'rbac') {
  const clients = labClients();
  const sub = (await seedCluster()).subscriptionId;
  const name = unique('kv-i-');
  const ref = { subscriptionId: sub, resourceGroup: LAB_RG, name };
  const v = await createKeyVaultActivities(clients).ensureKeyVault({
    ...ref,
    location: LOCATION,
    accessMode,
    owner,
  });
  return { clients, ref, id: v.id };
}

describe('listSecretReaders', () => {
  it('on an access-policy vault: every policy with secret permissions, whole-vault scope', async () => {
    const { clients, ref, id } = await vault('accessPolicy');
    const caller = await clients.caller();
    const reader = (
      await clients
        .msi(ref.subscriptionId)
        .userAssignedIdentities.createOrUpdate(LAB_RG, unique('mi-i-'), { location: LOCATION })
    ).principalId as string;
    const current = await clients.keyVault(ref.subscriptionId).vaults.get(LAB_RG, ref.name);
    await clients.keyVault(ref.subscriptionId).vaults.updateAccessPolicy(LAB_RG, ref.name, 'add', {
      properties: {
        accessPolicies: [
          { tenantId: current.properties.tenantId, objectId: reader, permissions: { secrets: ['get'], keys: ['get'] } },
        ],
      },
    });
    const r = await createInspectionActivities(clients).listSecretReaders({ vault: ref, secretName: 'gmsa-user' });
    assert.equal(r.accessModel, 'accessPolicy');
    assert.equal(r.vaultId.toLowerCase(), id.toLowerCase());
    const mine = r.readers.find((x) => x.principalId === reader.toLowerCase());
    assert.deepEqual(mine, {
      principalId: reader.toLowerCase(),
      via: 'accessPolicy',
      scope: r.vaultId,
      permissions: ['get'],
      readsValue: true,
    });
    const worker = r.readers.find((x) => x.principalId === caller.objectId.toLowerCase());
    assert.ok(worker?.readsValue, 'the worker that writes the secret is listed too');
  });

  it('on an RBAC vault: assignments at the secret and above it, with the role, not those on other secrets', async () => {
    const { clients, ref, id } = await vault('rbac');
    const msi = clients.msi(ref.subscriptionId).userAssignedIdentities;
    const [atSecret, atVault, elsewhere, readerOnly] = await Promise.all(
      [0, 1, 2, 3].map(
        async () => (await msi.createOrUpdate(LAB_RG, unique('mi-i-'), { location: LOCATION })).principalId as string,
      ),
    );
    const authz = clients.authorization(ref.subscriptionId).roleAssignments;
    const assign = (scope: string, role: string, principalId: string) =>
      authz.create(scope, assignmentName(scope, role, principalId), {
        roleDefinitionId: `/subscriptions/${ref.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
        principalId,
        principalType: 'ServicePrincipal',
      });
    await assign(`${id}/secrets/gmsa-user`, ROLE.keyVaultSecretsUser, atSecret as string);
    await assign(id, ROLE.keyVaultSecretsOfficer, atVault as string);
    await assign(`${id}/secrets/other`, ROLE.keyVaultSecretsUser, elsewhere as string);
    await assign(id, '21090545-7ca7-4776-b22c-e363652d74d2', readerOnly as string);
    const r = await createInspectionActivities(clients).listSecretReaders({ vault: ref, secretName: 'gmsa-user' });
    assert.equal(r.accessModel, 'rbac');
    const of = (p: string) => r.readers.filter((x) => x.principalId === p.toLowerCase());
    assert.deepEqual(
      of(atSecret as string).map((x) => [x.via, x.role, x.scope.toLowerCase(), x.readsValue]),
      [['roleAssignment', 'Key Vault Secrets User', `${id}/secrets/gmsa-user`.toLowerCase(), true]],
    );
    assert.deepEqual(
      of(atVault as string).map((x) => [x.role, x.scope.toLowerCase(), x.readsValue]),
      [['Key Vault Secrets Officer', id.toLowerCase(), true]],
    );
    assert.deepEqual(of(elsewhere as string), [], 'a grant on another secret gives no read on this one');
    assert.deepEqual(
      of(readerOnly as string).map((x) => [x.role, x.readsValue]),
      [['Key Vault Reader', false]],
    );
    const caller = await clients.caller();
    assert.ok(
      of(caller.objectId).some((x) => x.readsValue),
      'the worker (Secrets Officer on its vault) is listed',
    );
    assert.ok(
      r.readers.every((x) => !/b24988ac/i.test(x.assignmentId ?? '') && x.role),
      'only secret roles are listed (not the subscription Contributor)',
    );
  });

  it('an unknown vault fails at once, naming it', async () => {
    const { clients, ref } = await vault('rbac');
    const f = await failure(
      createInspectionActivities(clients).listSecretReaders({
        vault: { ...ref, name: `${ref.name}x` },
        secretName: 's',
      }),
    );
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, new RegExp(`${ref.name}x`));
  });
});
