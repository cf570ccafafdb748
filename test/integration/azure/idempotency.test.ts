/**
 * "The write succeeded but the reply was lost", for every write the product makes to Azure: the fake applies the
 * request and drops the connection before answering (`appliedThenReset`, once). The activity, whose SDK retries are
 * off so it sees the loss itself, fails transiently; its rerun (what Temporal's retry does) must converge on the
 * state one clean run leaves, with nothing twice: one identity on the scale set, one access-policy entry, one role
 * assignment, one secret version, one resource, and no write the state did not need.
 */
import type { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAksActivities } from '../../../activities/azure/aks.js';
import type { AzureClients } from '../../../activities/azure/clients.js';
import { createKeyVaultAccessActivities } from '../../../activities/azure/key-vault-access.js';
import { createKeyVaultActivities } from '../../../activities/azure/key-vault.js';
import { createManagedIdentityActivities } from '../../../activities/azure/managed-identity.js';
import type { FaultRule } from '../../../lab/azure/knobs.js';
import { pollUntil, within } from '../../support/poll.js';
import {
  admin,
  azureLabSettings,
  failure,
  LAB_RG,
  labClients,
  LOCATION,
  mark,
  requestsSince,
  seedCluster,
  unique,
} from '../../support/azure-lab.js';

const FQDN = 'lab.example.test';
const SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
const SECRETS_OFFICER = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7';

const sub = () => azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
/** This file's binding: what it creates carries its marks, and only that is removed. */
const owner = { binding: unique('gmsa-idem-t-'), adopt: [] };
const ref = () => ({ subscriptionId: sub(), resourceGroup: LAB_RG, location: LOCATION, owner });

/**
 * Runs `attempt` with clients whose SDK does not retry while `op` on paths containing `pathIncludes` is applied and
 * then reset once; asserts the activity failed transiently and that the fake really applied the write.
 */
async function lostReply(
  op: string,
  pathIncludes: string,
  attempt: (clients: AzureClients) => Promise<unknown>,
): Promise<ApplicationFailure> {
  const since = await mark();
  const rule: Omit<FaultRule, 'id'> = { op, kind: 'appliedThenReset', count: 1, pathIncludes };
  const f = await admin().withFault(rule, () => failure(attempt(labClients({ maxRetries: 0 }))));
  assert.equal(f.type, 'Transient', `a lost reply is worth a retry: ${f.message}`);
  assert.equal(f.nonRetryable, false);
  const hit = (await requestsSince(since, pathIncludes)).filter((r) => r.op === op);
  assert.equal(hit.length, 1, `one ${op} sent`);
  assert.equal(hit[0]?.fault, 'appliedThenReset');
  assert.ok((hit[0]?.applied ?? 0) >= 200 && (hit[0]?.applied ?? 0) < 300, `the fake applied it (${hit[0]?.applied})`);
  return f;
}

/** The writes (not GETs) logged after `since` on paths containing `text`, as `op` strings. */
async function writesSince(since: number, text: string): Promise<string[]> {
  return (await requestsSince(since, text)).filter((r) => r.method !== 'GET').map((r) => r.op);
}

async function identitiesOf(clients: AzureClients, nodeRg: string, vmss: string): Promise<string[]> {
  const s = await clients.compute(sub()).virtualMachineScaleSets.get(nodeRg, vmss);
  return Object.keys(s.identity?.userAssignedIdentities ?? {}).map((id) => id.toLowerCase());
}

async function roleAssignments(clients: AzureClients, scope: string, principalId: string, role: string) {
  const out: string[] = [];
  const authz = clients.authorization(sub()).roleAssignments;
  for await (const a of authz.listForScope(scope, { filter: `assignedTo('${principalId}')` })) {
    if (a.roleDefinitionId?.toLowerCase().endsWith(`/${role}`)) out.push(String(a.name));
  }
  return out;
}

/** A cluster with gMSA on, an identity and a vault: what the grant step gets. */
async function grantWorld(accessMode: 'accessPolicy' | 'rbac') {
  const clients = labClients();
  const cluster = await seedCluster({ extraScaleSetIdentity: true });
  const aks = await createAksActivities(clients).confirmAksGmsa({ cluster, domainFqdn: FQDN, enable: true });
  const mi = await createManagedIdentityActivities(clients).ensureManagedIdentity({ ...ref(), name: unique('mi-i-') });
  const vaultName = unique('kv-i-');
  const vault = await createKeyVaultActivities(clients).ensureKeyVault({ ...ref(), name: vaultName, accessMode });
  return {
    clients,
    cluster,
    mi,
    vaultUri: vault.vaultUri,
    input: {
      cluster,
      nodeResourceGroup: aks.nodeResourceGroup,
      vault: { ...ref(), name: vaultName, id: vault.id },
      hostIdentity: 'managedIdentity' as const,
      managedIdentity: { id: mi.id, principalId: mi.principalId },
      accessMode,
      owner,
    },
  };
}

describe('a lost reply to each write, then a rerun', () => {
  it('PUT managedClusters (confirmAksGmsa): the rerun sees gMSA on and sends no second PUT', async () => {
    const c = await seedCluster();
    const input = { cluster: c, domainFqdn: FQDN, dnsServer: '10.0.0.4', enable: true };
    const since = await mark();
    await lostReply('PUT managedClusters', c.name, (clients) => createAksActivities(clients).confirmAksGmsa(input));
    const clients = labClients();
    const again = await createAksActivities(clients).confirmAksGmsa(input);
    assert.equal(again.nodeResourceGroup, c.nodeResourceGroup);
    assert.deepEqual(await writesSince(since, `/managedClusters/${c.name}`), ['PUT managedClusters']);
    const after = await clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name);
    assert.deepEqual(after.windowsProfile?.gmsaProfile, { enabled: true, dnsServer: '10.0.0.4', rootDomainName: FQDN });
  });

  it('PUT managedClusters still running: the rerun waits for it to end, writes nothing, and converges', async () => {
    const c = await seedCluster();
    const input = { cluster: c, domainFqdn: FQDN, enable: true };
    await admin().withOverride({ pathIncludes: c.name, op: 'PUT managedClusters', hold: true }, async (held) => {
      await lostReply('PUT managedClusters', c.name, (clients) => createAksActivities(clients).confirmAksGmsa(input));
      // The first PUT's operation is still InProgress (held): the rerun waits for the cluster instead of writing.
      const since = await mark();
      const rerun = createAksActivities(labClients({ maxRetries: 0, pollIntervalMs: 20 })).confirmAksGmsa(input);
      await pollUntil(
        'the rerun polling the busy cluster',
        async () =>
          (await requestsSince(since, `/managedClusters/${c.name}`)).filter((r) => r.op === 'GET managedClusters')
            .length >= 2,
      );
      await held.release();
      await within(rerun, 'the rerun after the release', 10_000);
      assert.deepEqual(await writesSince(since, `/managedClusters/${c.name}`), [], 'the first PUT did it');
    });
  });

  it('PUT vaults still running: the rerun waits for the create to end, and sends no second PUT', async () => {
    const name = unique('kv-w-');
    const input = { ...ref(), name, accessMode: 'accessPolicy' as const };
    const path = `/vaults/${name}`;
    await admin().withOverride({ pathIncludes: path, op: 'PUT vaults', hold: true }, async (held) => {
      await lostReply('PUT vaults', path, (clients) => createKeyVaultActivities(clients).ensureKeyVault(input));
      const since = await mark();
      const rerun = createKeyVaultActivities(labClients({ maxRetries: 0, pollIntervalMs: 20 })).ensureKeyVault(input);
      await pollUntil(
        'the rerun polling the vault still being created',
        async () => (await requestsSince(since, path)).filter((r) => r.op === 'GET vaults').length >= 3,
      );
      await held.release();
      const done = await within(rerun, 'the rerun after the release', 10_000);
      assert.equal(done.created, false);
      assert.deepEqual(await writesSince(since, path), [], 'the first PUT did it');
      const vault = await labClients().keyVault(sub()).vaults.get(LAB_RG, name);
      assert.equal(vault.properties.provisioningState, 'Succeeded');
    });
  });

  it('PUT userAssignedIdentities (ensureManagedIdentity): one identity, the same one', async () => {
    const name = unique('mi-r-');
    const since = await mark();
    await lostReply('PUT userAssignedIdentities', name, (clients) =>
      createManagedIdentityActivities(clients).ensureManagedIdentity({ ...ref(), name }),
    );
    const clients = labClients();
    const again = await createManagedIdentityActivities(clients).ensureManagedIdentity({ ...ref(), name });
    const stored = await clients.msi(sub()).userAssignedIdentities.get(LAB_RG, name);
    assert.equal(again.principalId, stored.principalId);
    assert.deepEqual(await writesSince(since, `/userAssignedIdentities/${name}`), ['PUT userAssignedIdentities']);
  });

  it('PUT vaults (ensureKeyVault, access policies): one vault, one worker policy, no policy write', async () => {
    const name = unique('kv-r-');
    const input = { ...ref(), name, accessMode: 'accessPolicy' as const };
    const since = await mark();
    await lostReply('PUT vaults', `/vaults/${name}`, (clients) =>
      createKeyVaultActivities(clients).ensureKeyVault(input),
    );
    const clients = labClients();
    await createKeyVaultActivities(clients).ensureKeyVault(input);
    assert.deepEqual(await writesSince(since, `/vaults/${name}`), ['PUT vaults']);
    const vault = await clients.keyVault(sub()).vaults.get(LAB_RG, name);
    const caller = await clients.caller();
    assert.equal(vault.properties.accessPolicies?.filter((p) => p.objectId === caller.objectId).length, 1);
  });

  it('PUT roleAssignments (ensureKeyVault, RBAC): one Secrets Officer assignment for the worker', async () => {
    const name = unique('kv-rr-');
    const input = { ...ref(), name, accessMode: 'rbac' as const };
    const since = await mark();
    await lostReply('PUT roleAssignments', `/vaults/${name}/`, (clients) =>
      createKeyVaultActivities(clients).ensureKeyVault(input),
    );
    const clients = labClients();
    const r = await createKeyVaultActivities(clients).ensureKeyVault(input);
    const caller = await clients.caller();
    assert.equal((await roleAssignments(clients, r.id, caller.objectId, SECRETS_OFFICER)).length, 1);
    assert.deepEqual(
      (await writesSince(since, `/vaults/${name}`)).filter((op) => op !== 'PUT vaults'),
      ['PUT roleAssignments'],
    );
  });

  it('PATCH virtualMachineScaleSets (grantKeyVaultAccess): the identity once, no second PATCH', async () => {
    const { cluster, mi, input } = await grantWorld('accessPolicy');
    const before = await identitiesOf(labClients(), input.nodeResourceGroup, 'akswin1');
    const since = await mark();
    await lostReply('PATCH virtualMachineScaleSets', input.nodeResourceGroup, (clients) =>
      createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input),
    );
    const clients = labClients();
    const again = await createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input);
    assert.deepEqual(again.scaleSetsUpdated, [], 'the rerun found the identity attached');
    const after = await identitiesOf(clients, input.nodeResourceGroup, 'akswin1');
    assert.deepEqual(after.sort(), [...before, mi.id.toLowerCase()].sort(), 'the others kept, this one once');
    assert.deepEqual(await writesSince(since, input.nodeResourceGroup), ['PATCH virtualMachineScaleSets']);
    const vault = await clients.keyVault(cluster.subscriptionId).vaults.get(LAB_RG, input.vault.name);
    assert.equal(vault.properties.accessPolicies?.filter((p) => p.objectId === mi.principalId).length, 1);
  });

  it('PUT accessPolicies (grantKeyVaultAccess): one entry with get, no second write', async () => {
    const { mi, input } = await grantWorld('accessPolicy');
    const since = await mark();
    await lostReply('PUT accessPolicies', `/vaults/${input.vault.name}/`, (clients) =>
      createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input),
    );
    const clients = labClients();
    await createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input);
    assert.deepEqual(await writesSince(since, `/vaults/${input.vault.name}/`), ['PUT accessPolicies']);
    const vault = await clients.keyVault(sub()).vaults.get(LAB_RG, input.vault.name);
    const entries = vault.properties.accessPolicies?.filter((p) => p.objectId === mi.principalId) ?? [];
    assert.equal(entries.length, 1);
    assert.deepEqual(entries[0]?.permissions.secrets, ['get']);
  });

  it('PUT roleAssignments (grantKeyVaultAccess, RBAC): one Secrets User assignment', async () => {
    const { mi, input } = await grantWorld('rbac');
    const since = await mark();
    await lostReply('PUT roleAssignments', `/vaults/${input.vault.name}/`, (clients) =>
      createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input),
    );
    const clients = labClients();
    await createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input);
    assert.equal((await roleAssignments(clients, input.vault.id, mi.principalId, SECRETS_USER)).length, 1);
    assert.deepEqual(await writesSince(since, `/vaults/${input.vault.name}/`), ['PUT roleAssignments']);
  });

  it('PUT secrets (storeUserSecret): one secret version, the rerun keeps it', async () => {
    const { vaultUri, input } = await grantWorld('accessPolicy');
    const secret = { vaultUri, secretName: unique('gmsa-'), domainFqdn: FQDN, user: unique('u-'), owner };
    const since = await mark();
    await lostReply('PUT secrets', `vault:${input.vault.name}/secrets/${secret.secretName}`, (clients) =>
      createKeyVaultActivities(clients).storeUserSecret(secret),
    );
    const clients = labClients();
    const again = await createKeyVaultActivities(clients).storeUserSecret(secret);
    assert.equal(again.created, false, 'the rerun found the secret the lost reply had written');
    const versions: string[] = [];
    for await (const v of clients.secrets(vaultUri).listPropertiesOfSecretVersions(secret.secretName)) {
      versions.push(String(v.version));
    }
    assert.equal(versions.length, 1, 'one password, one version');
    assert.deepEqual(await writesSince(since, `vault:${input.vault.name}/secrets/${secret.secretName}`), [
      'PUT secrets',
    ]);
  });

  it('PATCH virtualMachineScaleSets (removeScaleSetIdentity): detached once, the others kept', async () => {
    const { clients, cluster, mi, input } = await grantWorld('accessPolicy');
    const before = await identitiesOf(clients, input.nodeResourceGroup, 'akswin1');
    await createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input);
    const removal = { cluster, nodeResourceGroup: input.nodeResourceGroup, identityId: mi.id, owner };
    const since = await mark();
    await lostReply('PATCH virtualMachineScaleSets', input.nodeResourceGroup, (c) =>
      createKeyVaultAccessActivities(c).removeScaleSetIdentity(removal),
    );
    const again = await createKeyVaultAccessActivities(labClients()).removeScaleSetIdentity(removal);
    assert.deepEqual(again, { scaleSetsUpdated: [] });
    assert.deepEqual((await identitiesOf(clients, input.nodeResourceGroup, 'akswin1')).sort(), before.sort());
    assert.deepEqual(await writesSince(since, input.nodeResourceGroup), ['PATCH virtualMachineScaleSets']);
  });

  it('DELETE userAssignedIdentities (deleteManagedIdentity): gone, one DELETE', async () => {
    const name = unique('mi-d-');
    await createManagedIdentityActivities(labClients()).ensureManagedIdentity({ ...ref(), name });
    const target = { subscriptionId: sub(), resourceGroup: LAB_RG, name, owner };
    const since = await mark();
    await lostReply('DELETE userAssignedIdentities', `/userAssignedIdentities/${name}`, (clients) =>
      createManagedIdentityActivities(clients).deleteManagedIdentity(target),
    );
    const again = await createManagedIdentityActivities(labClients()).deleteManagedIdentity(target);
    assert.deepEqual(again, { deleted: false });
    assert.deepEqual(await writesSince(since, `/userAssignedIdentities/${name}`), ['DELETE userAssignedIdentities']);
    const { resources } = await admin().state();
    assert.ok(!resources.some((r) => r.name === name));
  });

  it('DELETE vaults, then POST purge (deleteKeyVault): the vault and its soft-deleted copy gone, each sent once', async () => {
    const name = unique('kv-d-');
    await createKeyVaultActivities(labClients()).ensureKeyVault({ ...ref(), name, accessMode: 'accessPolicy' });
    const target = { ...ref(), name, purge: true };
    const since = await mark();
    await lostReply('DELETE vaults', `/vaults/${name}`, (clients) =>
      createKeyVaultActivities(clients).deleteKeyVault(target),
    );
    await lostReply('POST purge', `/deletedVaults/${name}/purge`, (clients) =>
      createKeyVaultActivities(clients).deleteKeyVault(target),
    );
    const again = await createKeyVaultActivities(labClients()).deleteKeyVault(target);
    assert.deepEqual(again, { deleted: false, purged: false });
    const ops = [
      ...(await writesSince(since, `/vaults/${name}`)),
      ...(await writesSince(since, `/deletedVaults/${name}`)),
    ];
    assert.deepEqual(ops.sort(), ['DELETE vaults', 'POST purge']);
    const state = (await admin().state()) as {
      resources: Array<{ name: string }>;
      deletedVaults?: Array<{ name: string }>;
    };
    assert.ok(!state.resources.some((r) => r.name === name), 'no vault');
    assert.ok(!(state.deletedVaults ?? []).some((d) => d.name === name), 'no soft-deleted vault holding the name');
  });
});

describe('a concurrent change to the managed cluster (If-Match on the etag read)', () => {
  it("another team's change between confirmAksGmsa's read and its PUT is kept: 412, then a rerun on the new state", async () => {
    const c = await seedCluster();
    const clients = labClients({ maxRetries: 0 });
    const teammate = labClients().aks(c.subscriptionId).managedClusters;
    const tag = unique('team-');
    let changedMeanwhile = false;
    // Runs the other team's update just before this activity's first PUT leaves: a barrier, not a race.
    const otherTeamFirst = {
      name: 'otherTeamUpdatesFirst',
      async sendRequest(request: { method: string }, next: (r: never) => Promise<unknown>) {
        if (request.method === 'PUT' && !changedMeanwhile) {
          changedMeanwhile = true;
          const now = await teammate.get(c.resourceGroup, c.name);
          await teammate.beginCreateOrUpdateAndWait(
            c.resourceGroup,
            c.name,
            { ...now, tags: { ...now.tags, owner: tag } },
            { updateIntervalInMs: 20 },
          );
        }
        return next(request as never);
      },
    };
    const aks = clients.aks(c.subscriptionId) as unknown as { pipeline: { addPolicy(p: unknown): void } };
    aks.pipeline.addPolicy(otherTeamFirst);
    const { confirmAksGmsa } = createAksActivities(clients);
    const input = { cluster: c, domainFqdn: FQDN, enable: true };
    const since = await mark();
    const first = await failure(confirmAksGmsa(input));
    assert.ok(changedMeanwhile, 'the other team wrote between the read and the PUT');
    assert.equal(first.type, 'Transient', first.message);
    assert.match(first.message, /412/);
    const puts = (await requestsSince(since, `/managedClusters/${c.name}`)).filter((r) => r.method === 'PUT');
    assert.deepEqual(
      puts.map((r) => r.status),
      [200, 412],
      'theirs applied, ours refused by If-Match',
    );
    const r = await confirmAksGmsa(input);
    assert.equal(r.enabledByThisRun, true);
    const after = await teammate.get(c.resourceGroup, c.name);
    assert.equal(after.tags?.owner, tag, "the other team's change survives");
    assert.equal(after.windowsProfile?.gmsaProfile?.enabled, true);
  });
});
