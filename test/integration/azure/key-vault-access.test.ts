/**
 * grantKeyVaultAccess, removeScaleSetIdentity and the rollback's deleteManagedIdentity with the real
 * @azure/arm-compute, @azure/arm-keyvault, @azure/arm-msi and @azure/arm-authorization clients against the lab ARM
 * fake, whose scale-set PATCH merges the identity map as Azure's does (`{}` attaches, `null` detaches, an identity
 * left out stays).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAksActivities } from '../../../activities/azure/aks.js';
import type { AzureClients } from '../../../activities/azure/clients.js';
import { createKeyVaultAccessActivities } from '../../../activities/azure/key-vault-access.js';
import { createKeyVaultActivities } from '../../../activities/azure/key-vault.js';
import { createManagedIdentityActivities } from '../../../activities/azure/managed-identity.js';
import { identityChange } from '../../../activities/azure/scale-set-identities.js';
import {
  admin,
  failure,
  LAB_RG,
  labClients,
  LOCATION,
  mark,
  requestsSince,
  seedCluster,
  unique,
} from '../../support/azure-lab.js';

const SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
/** This file's binding: what it creates carries its marks, and only that is removed. */
const owner = { binding: unique('gmsa-kva-t-'), adopt: [] };

async function scaleSetIdentities(clients: AzureClients, sub: string, nodeRg: string) {
  const out: Record<string, string[]> = {};
  for await (const s of clients.compute(sub).virtualMachineScaleSets.list(nodeRg)) {
    out[String(s.tags?.['aks-managed-poolName'])] = Object.keys(s.identity?.userAssignedIdentities ?? {})
      .map((id) => id.split('/').pop() as string)
      .sort();
  }
  return out;
}

/** The user-assigned identities of each scale set in `nodeRg` as the fake stores them (not as a client reads them). */
async function storedIdentities(nodeRg: string): Promise<Record<string, string[]>> {
  const { resources } = await admin().state();
  const out: Record<string, string[]> = {};
  for (const r of resources) {
    if (r.type !== 'Microsoft.Compute/virtualMachineScaleSets' || !r.id.toLowerCase().includes(nodeRg.toLowerCase()))
      continue;
    const identity = r.identity as { userAssignedIdentities?: Record<string, unknown> } | undefined;
    out[r.name] = Object.keys(identity?.userAssignedIdentities ?? {})
      .map((id) => id.toLowerCase())
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
  const ref = { subscriptionId: cluster.subscriptionId, resourceGroup: LAB_RG, location: LOCATION, owner };
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
      owner,
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
    assert.deepEqual(r, {
      principalId: mi.principalId,
      scaleSetsUpdated: [`akswin1`],
      access: 'accessPolicy',
      scope: 'vault',
    });
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

  it('with attachToScaleSets false grants read and sends no scale-set PATCH (the coordinator attaches)', async () => {
    const { clients, mi, input } = await world('accessPolicy');
    const before = await storedIdentities(input.nodeResourceGroup);
    const since = await mark();
    const r = await createKeyVaultAccessActivities(clients).grantKeyVaultAccess({ ...input, attachToScaleSets: false });
    assert.deepEqual(r, { principalId: mi.principalId, scaleSetsUpdated: [], access: 'accessPolicy', scope: 'vault' });
    const patches = (await requestsSince(since, input.nodeResourceGroup)).filter((x) => x.method === 'PATCH');
    assert.deepEqual(patches, []);
    assert.deepEqual(await storedIdentities(input.nodeResourceGroup), before, 'no identity attached');
    const vault = await clients.keyVault(input.vault.subscriptionId).vaults.get(LAB_RG, input.vault.name);
    assert.ok(
      vault.properties.accessPolicies?.some((p) => p.objectId === mi.principalId),
      'read was granted',
    );
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

  it('refuses access by policy on an RBAC vault before any write: no PATCH, the scale sets as they were', async () => {
    const { clients, input } = await world('rbac');
    const before = await storedIdentities(input.nodeResourceGroup);
    assert.ok(Object.keys(before).length >= 2, 'the node resource group has its scale sets');
    const since = await mark();
    const f = await failure(
      createKeyVaultAccessActivities(clients).grantKeyVaultAccess({ ...input, accessMode: 'accessPolicy' }),
    );
    assert.match(f.message, /RBAC mode but access by accessPolicy was requested/);
    assert.equal(f.type, 'PreconditionFailed');
    assert.equal(f.nonRetryable, true);
    const writes = [
      ...(await requestsSince(since, input.nodeResourceGroup)),
      ...(await requestsSince(since, input.vault.name)),
    ].filter((r) => r.method !== 'GET');
    assert.deepEqual(writes, [], 'the refusal came before any write');
    assert.deepEqual(await storedIdentities(input.nodeResourceGroup), before, 'no identity attached');
  });

  it('sends only its change: an identity another team detaches meanwhile is not put back', async () => {
    const { clients, cluster, mi, input } = await world('accessPolicy');
    const other = await createManagedIdentityActivities(clients).ensureManagedIdentity({
      subscriptionId: cluster.subscriptionId,
      resourceGroup: LAB_RG,
      location: LOCATION,
      name: unique('mi-other-'),
      owner,
    });
    const compute = clients.compute(cluster.subscriptionId).virtualMachineScaleSets;
    const teammate = labClients().compute(cluster.subscriptionId).virtualMachineScaleSets;
    // Another team's identity on win1, then their detach lands between this grant's read and its PATCH: the
    // policy below runs it just before the grant's PATCH goes out (a barrier, not a race).
    await (
      await teammate.beginUpdate(
        input.nodeResourceGroup,
        'akswin1',
        {
          identity: { type: 'UserAssigned', userAssignedIdentities: { [other.id]: {} } },
        },
        { updateIntervalInMs: 20 },
      )
    ).pollUntilDone();
    let detachedMeanwhile = false;
    const policy = {
      name: 'anotherTeamDetachesFirst',
      async sendRequest(request: { method: string; url: string }, next: (r: never) => Promise<unknown>) {
        if (request.method === 'PATCH' && !detachedMeanwhile) {
          detachedMeanwhile = true;
          await (
            await teammate.beginUpdate(
              input.nodeResourceGroup,
              'akswin1',
              {
                identity: {
                  type: 'UserAssigned',
                  userAssignedIdentities: { [other.id]: null } as never,
                },
              },
              { updateIntervalInMs: 20 },
            )
          ).pollUntilDone();
        }
        return next(request as never);
      },
    };
    (compute as unknown as { client: { pipeline: { addPolicy(p: unknown): void } } }).client.pipeline.addPolicy(policy);
    const r = await createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input);
    assert.ok(detachedMeanwhile, 'the other team detached between the read and the PATCH');
    assert.deepEqual(r.scaleSetsUpdated, ['akswin1']);
    const win1 = (await storedIdentities(input.nodeResourceGroup)).akswin1 ?? [];
    assert.ok(win1.includes(mi.id.toLowerCase()), 'this grant attached its identity');
    assert.ok(!win1.includes(other.id.toLowerCase()), "the other team's detach stands");
  });
});

describe('identityChange (the PATCH body, in Azure merge form)', () => {
  const A = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a';
  const B = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/b';
  it('adds with {} and names only the identity added', () => {
    assert.deepEqual(identityChange({ type: 'UserAssigned', userAssignedIdentities: { [A]: {} } }, { add: [B] }), {
      type: 'UserAssigned',
      userAssignedIdentities: { [B]: {} },
    });
    assert.deepEqual(identityChange({ type: 'SystemAssigned' }, { add: [B] }), {
      type: 'SystemAssigned, UserAssigned',
      userAssignedIdentities: { [B]: {} },
    });
    assert.deepEqual(identityChange(undefined, { add: [B] }), {
      type: 'UserAssigned',
      userAssignedIdentities: { [B]: {} },
    });
  });
  it('removes with null, or by type alone when it is the last user-assigned one', () => {
    const both = { type: 'UserAssigned' as const, userAssignedIdentities: { [A]: {}, [B]: {} } };
    assert.deepEqual(identityChange(both, { remove: [B.toUpperCase()] }), {
      type: 'UserAssigned',
      userAssignedIdentities: { [B.toUpperCase()]: null },
    });
    assert.deepEqual(identityChange({ type: 'UserAssigned', userAssignedIdentities: { [B]: {} } }, { remove: [B] }), {
      type: 'None',
    });
    assert.deepEqual(
      identityChange({ type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [B]: {} } }, { remove: [B] }),
      { type: 'SystemAssigned' },
    );
  });
  it('attaches and detaches many in one body, naming only what changes', () => {
    const C = A.replace(/a$/, 'c');
    assert.deepEqual(
      identityChange(
        { type: 'UserAssigned', userAssignedIdentities: { [A]: {}, [B]: {} } },
        {
          add: [C, A, C.toUpperCase()],
          remove: [B, C.replace(/c$/, 'd')],
        },
      ),
      { type: 'UserAssigned', userAssignedIdentities: { [C]: {}, [B]: null } },
      'A is on already, d is not on, C named once',
    );
    assert.deepEqual(
      identityChange(
        { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [A]: {}, [B]: {} } },
        {
          remove: [A, B],
        },
      ),
      { type: 'SystemAssigned' },
      'the last user-assigned ones go by type alone',
    );
  });
  it('is undefined when there is nothing to change', () => {
    assert.equal(
      identityChange({ type: 'UserAssigned', userAssignedIdentities: { [A]: {} } }, { add: [A] }),
      undefined,
    );
    assert.equal(
      identityChange({ type: 'UserAssigned', userAssignedIdentities: { [A]: {} } }, { remove: [B] }),
      undefined,
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
      owner,
    });
    assert.deepEqual(r, { scaleSetsUpdated: ['akswin1'] });
    assert.deepEqual(await scaleSetIdentities(clients, cluster.subscriptionId, input.nodeResourceGroup), before);
    assert.deepEqual(
      await a.removeScaleSetIdentity({ cluster, nodeResourceGroup: input.nodeResourceGroup, identityId: mi.id, owner }),
      {
        scaleSetsUpdated: [],
      },
    );
  });
});

describe('deleteManagedIdentity (rollback)', () => {
  it('detaches the identity from every scale set of the cluster before deleting it', async () => {
    const { clients, cluster, mi, input } = await world('accessPolicy');
    const before = await storedIdentities(input.nodeResourceGroup);
    // What a grant that failed after its PATCH leaves: the identity attached, no removeScaleSetIdentity queued.
    await createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input);
    assert.ok((await storedIdentities(input.nodeResourceGroup)).akswin1?.includes(mi.id.toLowerCase()));
    const ref = {
      subscriptionId: cluster.subscriptionId,
      resourceGroup: LAB_RG,
      name: mi.id.split('/').pop() as string,
      owner,
    };
    const since = await mark();
    const r = await createManagedIdentityActivities(clients).deleteManagedIdentity({
      ...ref,
      detachFrom: { subscriptionId: cluster.subscriptionId, nodeResourceGroup: input.nodeResourceGroup },
    });
    assert.deepEqual(r, { deleted: true, detachedFrom: ['akswin1'] });
    assert.deepEqual(await storedIdentities(input.nodeResourceGroup), before, 'no scale set names the identity');
    const writes = [
      ...(await requestsSince(since, input.nodeResourceGroup)),
      ...(await requestsSince(since, `/userAssignedIdentities/${ref.name}`)),
    ]
      .filter((x) => x.method === 'PATCH' || x.method === 'DELETE')
      .sort((a, b) => a.seq - b.seq)
      .map((x) => x.method);
    assert.deepEqual(writes, ['PATCH', 'DELETE'], 'detached first, then deleted');
    const { resources } = await admin().state();
    assert.ok(!resources.some((x) => x.id.toLowerCase() === mi.id.toLowerCase()), 'the identity is gone');
  });

  it('negative control: without detachFrom the fake, like Azure, deletes it and leaves the scale set naming it', async () => {
    const { clients, cluster, mi, input } = await world('accessPolicy');
    await createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input);
    const name = mi.id.split('/').pop() as string;
    const r = await createManagedIdentityActivities(clients).deleteManagedIdentity({
      subscriptionId: cluster.subscriptionId,
      resourceGroup: LAB_RG,
      name,
      owner,
    });
    assert.deepEqual(r, { deleted: true });
    assert.ok((await storedIdentities(input.nodeResourceGroup)).akswin1?.includes(mi.id.toLowerCase()), 'dangling');
  });
});
