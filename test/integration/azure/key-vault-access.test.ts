/**
 * grantKeyVaultAccess and removeScaleSetIdentity with the real @azure/arm-compute, @azure/arm-keyvault and
 * @azure/arm-authorization clients against the lab ARM fake, whose scale-set PATCH replaces the identity map (so a
 * grant that forgot the identities already there would drop them).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAksActivities } from '../../../activities/aks.js';
import type { AzureClients } from '../../../activities/azure-clients.js';
import { createKeyVaultAccessActivities } from '../../../activities/key-vault-access.js';
import { createKeyVaultActivities } from '../../../activities/key-vault.js';
import { createManagedIdentityActivities } from '../../../activities/managed-identity.js';
import { LAB_RG, labClients, LOCATION, mark, requestsSince, seedCluster, unique } from '../../support/azure-lab.js';

const SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';

async function scaleSetIdentities(clients: AzureClients, sub: string, nodeRg: string) {
  const out: Record<string, string[]> = {};
  for await (const s of clients.compute(sub).virtualMachineScaleSets.list(nodeRg)) {
    out[String(s.tags?.['aks-managed-poolName'])] = Object.keys(s.identity?.userAssignedIdentities ?? {})
      .map((id) => id.split('/').pop() as string)
      .sort();
  }
  return out;
}

/** A cluster, an identity and a vault: what the grant step gets from the steps before it. */
async function world(accessMode: 'accessPolicy' | 'rbac') {
  const clients = labClients();
  const cluster = await seedCluster({ extraScaleSetIdentity: true });
  const aks = await createAksActivities(clients).confirmAksGmsa({
    cluster,
    domainFqdn: 'lab.example.test',
    enable: true,
  });
  const ref = { subscriptionId: cluster.subscriptionId, resourceGroup: LAB_RG, location: LOCATION };
  const mi = await createManagedIdentityActivities(clients).ensureManagedIdentity({ ...ref, name: unique('mi-g-') });
  const vaultName = unique('kv-g-');
  const vault = await createKeyVaultActivities(clients).ensureKeyVault({ ...ref, name: vaultName, accessMode });
  return {
    clients,
    cluster,
    aks,
    mi,
    input: {
      cluster,
      nodeResourceGroup: aks.nodeResourceGroup,
      vault: { ...ref, name: vaultName, id: vault.id },
      hostIdentity: 'managedIdentity' as const,
      managedIdentity: { id: mi.id, principalId: mi.principalId },
      kubeletIdentity: aks.kubeletIdentity,
      accessMode,
    },
  };
}

describe('grantKeyVaultAccess', () => {
  it('appends the identity to the Windows scale set, keeps the ones there, and grants get by policy', async () => {
    const { clients, cluster, mi, input } = await world('accessPolicy');
    const before = await scaleSetIdentities(clients, cluster.subscriptionId, input.nodeResourceGroup);
    assert.deepEqual(before.win1, [`${cluster.name}-agentpool`, `${cluster.name}-monitoring`].sort());
    const { grantKeyVaultAccess } = createKeyVaultAccessActivities(clients);
    const r = await grantKeyVaultAccess(input);
    assert.deepEqual(r, { principalId: mi.principalId, scaleSetsUpdated: [`akswin1`], access: 'accessPolicy' });
    const after = await scaleSetIdentities(clients, cluster.subscriptionId, input.nodeResourceGroup);
    assert.deepEqual(
      after.win1,
      [...(before.win1 ?? []), mi.id.split('/').pop() as string].sort(),
      'existing identities survive',
    );
    assert.deepEqual(after.nodepool1, before.nodepool1, 'the Linux pool is untouched');
    const vault = await clients.keyVault(cluster.subscriptionId).vaults.get(LAB_RG, input.vault.name);
    const policies = vault.properties.accessPolicies?.filter((p) => p.objectId === mi.principalId) ?? [];
    assert.equal(policies.length, 1);
    assert.deepEqual(policies[0]?.permissions.secrets, ['get']);
  });

  it('a rerun changes nothing: no scale-set PATCH, no policy write, no duplicate identity or policy', async () => {
    const { clients, cluster, mi, input } = await world('accessPolicy');
    const { grantKeyVaultAccess } = createKeyVaultAccessActivities(clients);
    await grantKeyVaultAccess(input);
    const since = await mark();
    const again = await grantKeyVaultAccess(input);
    assert.deepEqual(again.scaleSetsUpdated, []);
    const writes = [
      ...(await requestsSince(since, input.nodeResourceGroup)),
      ...(await requestsSince(since, input.vault.name)),
    ].filter((x) => x.method !== 'GET');
    assert.deepEqual(writes, []);
    const after = await scaleSetIdentities(clients, cluster.subscriptionId, input.nodeResourceGroup);
    assert.equal(after.win1?.filter((n) => n === mi.id.split('/').pop()).length, 1);
    const vault = await clients.keyVault(cluster.subscriptionId).vaults.get(LAB_RG, input.vault.name);
    assert.equal(vault.properties.accessPolicies?.filter((p) => p.objectId === mi.principalId).length, 1);
  });

  it('with the kubelet identity changes no scale set and grants the kubelet object id', async () => {
    const { clients, aks, input } = await world('accessPolicy');
    const since = await mark();
    const r = await createKeyVaultAccessActivities(clients).grantKeyVaultAccess({
      ...input,
      hostIdentity: 'kubeletIdentity',
    });
    assert.equal(r.principalId, aks.kubeletIdentity?.objectId);
    assert.deepEqual(r.scaleSetsUpdated, []);
    const patches = (await requestsSince(since, input.nodeResourceGroup)).filter((x) => x.method === 'PATCH');
    assert.deepEqual(patches, []);
    const vault = await clients.keyVault(input.vault.subscriptionId).vaults.get(LAB_RG, input.vault.name);
    assert.ok(vault.properties.accessPolicies?.some((p) => p.objectId === aks.kubeletIdentity?.objectId));
  });

  it('on an RBAC vault assigns Key Vault Secrets User at the vault, once', async () => {
    const { clients, mi, input } = await world('rbac');
    const { grantKeyVaultAccess } = createKeyVaultAccessActivities(clients);
    const r = await grantKeyVaultAccess(input);
    assert.equal(r.access, 'roleAssignment');
    await grantKeyVaultAccess(input);
    const roles: Array<{ role: string; scope: string }> = [];
    const authz = clients.authorization(input.vault.subscriptionId).roleAssignments;
    for await (const a of authz.listForScope(input.vault.id, { filter: `assignedTo('${mi.principalId}')` })) {
      roles.push({ role: String(a.roleDefinitionId).split('/').pop() as string, scope: String(a.scope) });
    }
    assert.deepEqual(roles, [{ role: SECRETS_USER, scope: input.vault.id }]);
  });

  it('refuses access by policy on an RBAC vault (policies would be ignored)', async () => {
    const { clients, input } = await world('rbac');
    await assert.rejects(
      createKeyVaultAccessActivities(clients).grantKeyVaultAccess({ ...input, accessMode: 'accessPolicy' }),
      /RBAC mode but access by accessPolicy was requested/,
    );
  });
});

describe('removeScaleSetIdentity', () => {
  it('detaches only the given identity from the Windows scale set', async () => {
    const { clients, cluster, mi, input } = await world('accessPolicy');
    const a = createKeyVaultAccessActivities(clients);
    const before = await scaleSetIdentities(clients, cluster.subscriptionId, input.nodeResourceGroup);
    await a.grantKeyVaultAccess(input);
    const r = await a.removeScaleSetIdentity({
      cluster,
      nodeResourceGroup: input.nodeResourceGroup,
      identityId: mi.id,
    });
    assert.deepEqual(r, { scaleSetsUpdated: ['akswin1'] });
    assert.deepEqual(await scaleSetIdentities(clients, cluster.subscriptionId, input.nodeResourceGroup), before);
    assert.deepEqual(
      await a.removeScaleSetIdentity({ cluster, nodeResourceGroup: input.nodeResourceGroup, identityId: mi.id }),
      {
        scaleSetsUpdated: [],
      },
    );
  });
});
