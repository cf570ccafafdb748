/**
 * Ownership on Azure (DESIGN "A shared world"), with the real SDK clients against the lab ARM fake and its vault
 * data planes: a vault, secret or identity made beforehand through the plain APIs (no marks) is refused and left
 * exactly as it was, or adopted and marked with its properties kept; a shared identity is released by one binding
 * and deleted by the last; the hosts' read is scoped to the one secret on an RBAC vault (and the principal cannot
 * read another secret there) and said to cover the vault on an access-policy vault; revokes take back only what
 * this product's marks say it gave; copyFrom copies the canonical secret, never a new password.
 */
import type { Vault } from '@azure/arm-keyvault';
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pipelineOptions, type AzureClients } from '../../../activities/azure/clients.js';
import { createKeyVaultAccessActivities } from '../../../activities/azure/key-vault-access.js';
import { createKeyVaultActivities } from '../../../activities/azure/key-vault.js';
import { createManagedIdentityActivities } from '../../../activities/azure/managed-identity.js';
import { accessRecordOf } from '../../../activities/azure/tags.js';
import { bindingKey, ownershipFromTags, parseAdMarker, type AdoptKind, type Owner } from '../../../domain/ownership.js';
import { LAB_LIMITED_CLIENT_ID, LAB_LIMITED_OBJECT_ID, limitedClientSecret } from '../../../lab/azure/world.js';
import {
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
const sub = () => azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
const binding = (adopt: AdoptKind[] = []): Owner => ({ binding: unique('gmsa-own-t-'), adopt });
const roleId = (guid: string) => `/subscriptions/${sub()}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

/** The lab's second app registration, to read a vault's data plane as the principal a grant names. */
function limitedSecrets(vaultUri: string): SecretClient {
  const s = azureLabSettings();
  const caPem = readFileSync(s.AZURE_CA_FILE as string, 'utf8');
  const credential = new ClientSecretCredential(
    s.AZURE_TENANT_ID as string,
    LAB_LIMITED_CLIENT_ID,
    limitedClientSecret(s.AZURE_CLIENT_SECRET as string),
    { authorityHost: s.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true, ...pipelineOptions({ caPem }) },
  );
  return new SecretClient(vaultUri, credential, {
    ...pipelineOptions({ caPem }),
    disableChallengeResourceVerification: true,
  });
}

/** A read as `client`: the value, or the error code; values are compared, never printed. */
const readAs = (client: SecretClient, name: string): Promise<{ value?: string; error?: string }> =>
  client.getSecret(name).then(
    (s) => ({ value: s.value }),
    (e: { code?: string }) => ({ error: e.code }),
  );

/** A vault made by someone else through plain ARM: no marks, a team tag, another team's policy, no worker entry. */
async function foreignVault(clients: AzureClients, rbac: boolean) {
  const me = await clients.caller();
  const name = unique('kv-own-');
  await clients
    .keyVault(sub())
    .vaults.createOrUpdate(
      LAB_RG,
      name,
      {
        location: LOCATION,
        tags: { team: 'payments' },
        properties: {
          tenantId: me.tenantId,
          sku: { family: 'A', name: 'standard' },
          enableRbacAuthorization: rbac,
          softDeleteRetentionInDays: 30,
          accessPolicies: rbac
            ? []
            : [{ tenantId: me.tenantId, objectId: LAB_LIMITED_OBJECT_ID, permissions: { secrets: ['get', 'list'] } }],
        },
      },
      { updateIntervalInMs: 0 },
    )
    .pollUntilDone();
  const ref = { subscriptionId: sub(), resourceGroup: LAB_RG, name, location: LOCATION };
  const get = () => clients.keyVault(sub()).vaults.get(LAB_RG, name);
  return { ref, get, me };
}

/** What a vault's owner sees of it, apart from the worker's own access-policy entry and ARM's bookkeeping. */
function shape(v: Vault, worker: string) {
  const {
    systemData: _s,
    properties,
    ...rest
  } = v as unknown as {
    systemData?: unknown;
    properties: Record<string, unknown>;
  };
  const policies = (properties.accessPolicies as Array<{ objectId: string }> | undefined) ?? [];
  return { ...rest, properties: { ...properties, accessPolicies: policies.filter((p) => p.objectId !== worker) } };
}

async function writesSince(since: number, text: string) {
  return (await requestsSince(since, text)).filter((r) => r.method !== 'GET').map((r) => r.op);
}

describe('an existing vault without our marks', () => {
  it('is refused before any write and left exactly as it was', async () => {
    const clients = labClients();
    const { ref, get } = await foreignVault(clients, false);
    const before = await get();
    const since = await mark();
    const f = await failure(
      createKeyVaultActivities(clients).ensureKeyVault({ ...ref, accessMode: 'accessPolicy', owner: binding() }),
    );
    assert.equal(f.type, 'Conflict');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, new RegExp(`key vault ${LAB_RG}/${ref.name} exists .*no owner marker.*"keyVault"`));
    assert.deepEqual(await writesSince(since, ref.name), [], 'no write');
    assert.deepEqual(await get(), before, 'tags, access policies and properties as they were');
  });

  it('with adopt keyVault is marked; its properties stay, the worker gets get/set/delete; deleteKeyVault hands it back', async () => {
    const clients = labClients();
    const { ref, get, me } = await foreignVault(clients, false);
    const before = await get();
    const owner = binding(['keyVault']);
    const kv = createKeyVaultActivities(clients);
    const r = await kv.ensureKeyVault({ ...ref, accessMode: 'accessPolicy', owner });
    assert.equal(r.adopted, true);
    assert.equal(r.created, false);
    assert.equal(r.accessMode, 'accessPolicy');
    const after = await get();
    assert.equal(after.tags?.team, 'payments', 'their tag kept');
    assert.equal(after.tags?.['managed-by'], 'aks-gmsa');
    assert.equal(after.tags?.['gmsa-adopted'], 'true');
    assert.deepEqual(ownershipFromTags(after.tags)?.uses, [bindingKey(owner.binding)]);
    assert.equal(after.tags?.['gmsa-uses-1'], bindingKey(owner.binding), 'the uses list, packed');
    const { tags: _t1, ...a } = shape(after, me.objectId) as Record<string, unknown>;
    const { tags: _t2, ...b } = shape(before, me.objectId) as Record<string, unknown>;
    assert.deepEqual(a, b, 'every property but the worker entry as it was (mode, soft delete, their policy)');
    const worker = after.properties.accessPolicies?.filter((p) => p.objectId === me.objectId) ?? [];
    assert.deepEqual(
      worker.map((p) => [...(p.permissions.secrets ?? [])].sort()),
      [['delete', 'get', 'set']],
    );

    const d = await kv.deleteKeyVault({ ...ref, owner });
    assert.equal(d.deleted, false, 'an adopted vault is never deleted');
    const back = await get();
    assert.deepEqual(back.tags, before.tags, 'the marks are gone, their tags stay');
    assert.deepEqual(back.properties.accessPolicies, before.properties.accessPolicies, "the worker's entry is gone");
  });

  it('an adopted RBAC vault stays RBAC whatever was requested', async () => {
    const clients = labClients();
    const { ref, get } = await foreignVault(clients, true);
    const r = await createKeyVaultActivities(clients).ensureKeyVault({
      ...ref,
      accessMode: 'accessPolicy',
      owner: binding(['keyVault']),
    });
    assert.equal(r.accessMode, 'rbac');
    assert.equal((await get()).properties.enableRbacAuthorization, true);
  });
});

describe('an existing secret without our marks', () => {
  async function vaultWithForeignSecret() {
    const clients = labClients();
    const kv = createKeyVaultActivities(clients);
    const owner = binding();
    const vault = await kv.ensureKeyVault({
      ...(await foreignVault(clients, false)).ref,
      accessMode: 'accessPolicy',
      owner: { ...owner, adopt: ['keyVault'] },
    });
    const secretName = unique('s-own-');
    const user = unique('gmsa-u-');
    await clients.secrets(vault.vaultUri).setSecret(secretName, `${FQDN}\\${user}:Their-Passw0rd-123`);
    // The latest version's id: a write of a value makes a new one (listing versions needs list, which an adopted
    // vault does not give the worker).
    const read = async () => {
      const s = await clients.secrets(vault.vaultUri).getSecret(secretName);
      return { value: s.value, tags: s.properties.tags, version: s.properties.version };
    };
    return { clients, kv, owner, vault, secretName, user, read };
  }

  it('is refused and unchanged; with adopt secret it is kept and marked, no new version', async () => {
    const { kv, owner, vault, secretName, user, read } = await vaultWithForeignSecret();
    const before = await read();
    const input = { vaultUri: vault.vaultUri, secretName, domainFqdn: FQDN, user, owner };
    const f = await failure(kv.storeUserSecret(input));
    assert.equal(f.type, 'Conflict');
    assert.match(f.message, new RegExp(`secret ${secretName} .*no owner marker.*"secret"`));
    const same = await read();
    assert.ok(same.value === before.value, 'the value is unchanged');
    assert.deepEqual({ ...same, value: 0 }, { ...before, value: 0 }, 'no new version, tags as they were');

    const r = await kv.storeUserSecret({ ...input, owner: { ...owner, adopt: ['secret'] } });
    assert.equal(r.created, false);
    const after = await read();
    assert.ok(after.value === before.value, 'its password kept');
    assert.equal(after.version, before.version, 'no new version');
    assert.equal(after.tags?.['gmsa-adopted'], 'true');
    assert.equal(after.tags?.user, user);
  });

  it('deleteUserSecret leaves a foreign secret, deletes ours, and only releases one another binding uses', async () => {
    const { clients, kv, owner, vault, secretName, user, read } = await vaultWithForeignSecret();
    assert.deepEqual(
      { ...(await kv.deleteUserSecret({ vaultUri: vault.vaultUri, secretName, owner })), kept: undefined },
      { removed: false, kept: undefined },
    );
    assert.ok((await read()).value, 'the foreign secret is still there');

    const ours = { vaultUri: vault.vaultUri, secretName: unique('s-ours-'), domainFqdn: FQDN, user };
    const other = binding();
    await kv.storeUserSecret({ ...ours, owner });
    await kv.storeUserSecret({ ...ours, owner: other });
    const shared = await kv.deleteUserSecret({ ...ours, owner });
    assert.equal(shared.removed, false, 'another binding still uses it');
    const tags = (await clients.secrets(vault.vaultUri).getSecret(ours.secretName)).properties.tags ?? {};
    assert.deepEqual(ownershipFromTags(tags)?.uses, [bindingKey(other.binding)], 'only the other binding is on it');
    assert.equal((await kv.deleteUserSecret({ ...ours, owner: other })).removed, true, 'the last one deletes it');
    assert.deepEqual(await readAs(clients.secrets(vault.vaultUri), ours.secretName), { error: 'SecretNotFound' });
  });
});

describe('an existing managed identity without our marks', () => {
  it('is refused and unchanged; with adopt managedIdentity it is marked and the same identity', async () => {
    const clients = labClients();
    const name = unique('mi-own-');
    const msi = clients.msi(sub()).userAssignedIdentities;
    await msi.createOrUpdate(LAB_RG, name, { location: LOCATION, tags: { team: 'payments' } });
    const before = await msi.get(LAB_RG, name);
    const ref = { subscriptionId: sub(), resourceGroup: LAB_RG, name, location: LOCATION };
    const mi = createManagedIdentityActivities(clients);
    const since = await mark();
    const f = await failure(mi.ensureManagedIdentity({ ...ref, owner: binding() }));
    assert.equal(f.type, 'Conflict');
    assert.match(
      f.message,
      new RegExp(`managed identity ${LAB_RG}/${name} exists .*no owner marker.*"managedIdentity"`),
    );
    assert.deepEqual(await writesSince(since, name), []);
    assert.deepEqual(await msi.get(LAB_RG, name), before);
    const removal = await mi.deleteManagedIdentity({ ...ref, owner: binding() });
    assert.equal(removal.deleted, false);
    assert.match(String(removal.kept), /not marked as aks-gmsa's \(no owner marker\)/);
    assert.deepEqual(await msi.get(LAB_RG, name), before, 'a removal leaves a foreign identity as it is');

    const owner = binding(['managedIdentity']);
    const r = await mi.ensureManagedIdentity({ ...ref, owner });
    assert.equal(r.adopted, true);
    assert.equal(r.principalId, before.principalId, 'the same identity');
    const after = await msi.get(LAB_RG, name);
    assert.equal(after.tags?.team, 'payments');
    assert.equal(after.tags?.['gmsa-adopted'], 'true');
    assert.deepEqual(await mi.deleteManagedIdentity({ ...ref, owner }), {
      deleted: false,
      kept: `managed identity ${LAB_RG}/${name} existed before and was adopted: kept, the product's marks removed`,
    });
    assert.deepEqual((await msi.get(LAB_RG, name)).tags, { team: 'payments' }, 'handed back as it was found');
  });
});

describe('a managed identity shared by two bindings', () => {
  it('the first removal only releases it (and leaves it on the scale set); the last detaches and deletes it', async () => {
    const clients = labClients();
    const cluster = await seedCluster();
    const [a, b] = [binding(), binding()];
    const ref = { subscriptionId: sub(), resourceGroup: LAB_RG, name: unique('mi-sh-'), location: LOCATION };
    const mi = createManagedIdentityActivities(clients);
    const first = await mi.ensureManagedIdentity({ ...ref, owner: a });
    const second = await mi.ensureManagedIdentity({ ...ref, owner: b });
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.principalId, first.principalId);
    const msi = clients.msi(sub()).userAssignedIdentities;
    const uses = async () => ownershipFromTags((await msi.get(LAB_RG, ref.name)).tags)?.uses.sort();
    assert.deepEqual(await uses(), [bindingKey(a.binding), bindingKey(b.binding)].sort());

    const access = createKeyVaultAccessActivities(clients);
    const vault = await createKeyVaultActivities(clients).ensureKeyVault({
      ...ref,
      name: unique('kv-sh-'),
      accessMode: 'accessPolicy',
      owner: a,
    });
    const nodeResourceGroup = cluster.nodeResourceGroup;
    await access.grantKeyVaultAccess({
      cluster,
      nodeResourceGroup,
      vault: { subscriptionId: sub(), resourceGroup: LAB_RG, name: vault.id.split('/').pop() as string, id: vault.id },
      hostIdentity: 'managedIdentity',
      managedIdentity: { id: first.id, principalId: first.principalId },
      accessMode: 'accessPolicy',
      owner: a,
    });
    const attached = async () => {
      const s = await clients.compute(sub()).virtualMachineScaleSets.get(nodeResourceGroup, 'akswin1');
      return Object.keys(s.identity?.userAssignedIdentities ?? {}).some(
        (id) => id.toLowerCase() === first.id.toLowerCase(),
      );
    };
    assert.equal(await attached(), true);
    const removal = { cluster, nodeResourceGroup, identityId: first.id };
    assert.deepEqual((await access.removeScaleSetIdentity({ ...removal, owner: a })).scaleSetsUpdated, []);
    assert.equal(await attached(), true, 'b still uses it: left attached');

    const detachFrom = { subscriptionId: sub(), nodeResourceGroup };
    const released = await mi.deleteManagedIdentity({ ...ref, detachFrom, owner: a });
    assert.equal(released.deleted, false);
    assert.deepEqual(released.detachedFrom, [], 'a release detaches nothing');
    assert.deepEqual(await uses(), [bindingKey(b.binding)], 'only b is left on it');

    assert.deepEqual((await access.removeScaleSetIdentity({ ...removal, owner: b })).scaleSetsUpdated, ['akswin1']);
    const deleted = await mi.deleteManagedIdentity({ ...ref, detachFrom, owner: b });
    assert.equal(deleted.deleted, true, 'the last binding deletes it');
    await assert.rejects(msi.get(LAB_RG, ref.name), (e: { statusCode?: number }) => e.statusCode === 404);
  });
});

describe('the hosts get read on the one secret', () => {
  async function grantWorld(accessMode: 'accessPolicy' | 'rbac') {
    const clients = labClients();
    const cluster = await seedCluster();
    const owner = binding();
    const name = unique('kv-g-');
    const ref = { subscriptionId: sub(), resourceGroup: LAB_RG, name, location: LOCATION, owner };
    const kv = createKeyVaultActivities(clients);
    const vault = await kv.ensureKeyVault({ ...ref, accessMode });
    const user = unique('gmsa-u-');
    const secret = await kv.storeUserSecret({
      vaultUri: vault.vaultUri,
      secretName: 'gmsa-a',
      domainFqdn: FQDN,
      user,
      owner,
    });
    await clients.secrets(vault.vaultUri).setSecret('another', 'not for the hosts');
    const input = {
      cluster,
      nodeResourceGroup: cluster.nodeResourceGroup,
      vault: { ...ref, id: vault.id },
      // The lab's second app registration stands for the hosts: a test can sign in as it.
      hostIdentity: 'kubeletIdentity' as const,
      kubeletIdentity: { objectId: LAB_LIMITED_OBJECT_ID },
      accessMode,
      secretName: 'gmsa-a',
      owner,
    };
    return { clients, vault, secret, input, owner, access: createKeyVaultAccessActivities(clients) };
  }

  it('RBAC: Key Vault Secrets User scoped to the secret, marked; the principal reads it and not another; revoke takes it back', async () => {
    const { clients, vault, input, owner, access } = await grantWorld('rbac');
    const r = await access.grantKeyVaultAccess(input);
    assert.equal(r.access, 'roleAssignment');
    assert.equal(r.scope, 'secret');
    const authz = clients.authorization(sub()).roleAssignments;
    const mine = [];
    for await (const a of authz.listForScope(vault.id, { filter: `assignedTo('${LAB_LIMITED_OBJECT_ID}')` })) {
      // Its seeded role on the subscription is listed too (above the vault): not this grant's.
      if (String(a.scope).toLowerCase().startsWith(vault.id.toLowerCase())) mine.push(a);
    }
    assert.deepEqual(
      mine.map((a) => [String(a.roleDefinitionId).split('/').pop(), String(a.scope).toLowerCase()]),
      [[SECRETS_USER, `${vault.id}/secrets/gmsa-a`.toLowerCase()]],
    );
    assert.deepEqual(
      parseAdMarker(mine[0]?.description)?.uses,
      [bindingKey(owner.binding)],
      'the marker names the binding',
    );

    const hosts = limitedSecrets(vault.vaultUri);
    const theirs = await readAs(hosts, 'gmsa-a');
    const worker = await readAs(clients.secrets(vault.vaultUri), 'gmsa-a');
    assert.ok(theirs.value !== undefined && theirs.value === worker.value, 'the hosts read the secret');
    assert.deepEqual(await readAs(hosts, 'another'), { error: 'Forbidden' }, 'and no other secret of the vault');

    // Someone else's grant to the same principal on another secret: never touched by a revoke.
    const foreign = randomUUID();
    await authz.create(`${vault.id}/secrets/another`, foreign, {
      roleDefinitionId: roleId(SECRETS_USER),
      principalId: LAB_LIMITED_OBJECT_ID,
      principalType: 'ServicePrincipal',
    });
    const revoked = await access.revokeKeyVaultAccess({
      vault: input.vault,
      principalId: LAB_LIMITED_OBJECT_ID,
      secretName: 'gmsa-a',
      owner,
    });
    assert.equal(revoked.revoked.length, 1);
    assert.deepEqual(await readAs(hosts, 'gmsa-a'), { error: 'Forbidden' }, 'read taken back');
    assert.ok((await readAs(hosts, 'another')).value, 'the foreign grant stands');
    await authz.delete(`${vault.id}/secrets/another`, foreign);
  });

  it('access policy: the answer says the grant covers the vault; revoke removes only the entry this binding added', async () => {
    const { clients, vault, input, owner, access } = await grantWorld('accessPolicy');
    const r = await access.grantKeyVaultAccess(input);
    assert.equal(r.access, 'accessPolicy');
    assert.equal(r.scope, 'vault');
    const vaults = clients.keyVault(sub()).vaults;
    const got = await vaults.get(LAB_RG, input.vault.name);
    assert.equal(accessRecordOf(got.tags, owner.binding), LAB_LIMITED_OBJECT_ID, 'recorded on the vault');
    assert.equal(got.tags?.['gmsa-grants-1'], `${LAB_LIMITED_OBJECT_ID}=${bindingKey(owner.binding)}`, 'packed');
    assert.ok((await readAs(limitedSecrets(vault.vaultUri), 'another')).value, 'a policy reads every secret');

    const revoked = await access.revokeKeyVaultAccess({
      vault: input.vault,
      principalId: LAB_LIMITED_OBJECT_ID,
      owner,
    });
    assert.deepEqual(revoked.revoked, [`access policy of ${LAB_LIMITED_OBJECT_ID} on vault ${input.vault.name}`]);
    const after = await vaults.get(LAB_RG, input.vault.name);
    assert.ok(!after.properties.accessPolicies?.some((p) => p.objectId === LAB_LIMITED_OBJECT_ID), 'entry removed');
    assert.equal(accessRecordOf(after.tags, owner.binding), undefined, 'record removed');
  });

  it('access policy: a vault whose 50 tags are taken refuses the grant before any change, naming rbac', async () => {
    const { clients, input, access } = await grantWorld('accessPolicy');
    const vaults = clients.keyVault(sub()).vaults;
    const before = await vaults.get(LAB_RG, input.vault.name);
    const theirs = Object.fromEntries(
      Array.from({ length: 50 - Object.keys(before.tags ?? {}).length }, (_, i) => [`team-${i}`, 'x']),
    );
    await vaults.update(LAB_RG, input.vault.name, { tags: { ...before.tags, ...theirs } });
    const f = await failure(access.grantKeyVaultAccess(input));
    assert.equal(f.type, 'PreconditionFailed');
    assert.match(f.message, /would carry 51 tags, more than Azure's 50.*keyVaultAccess "rbac"/);
    const after = await vaults.get(LAB_RG, input.vault.name);
    assert.ok(!after.properties.accessPolicies?.some((p) => p.objectId === LAB_LIMITED_OBJECT_ID), 'no entry added');
    assert.equal(Object.keys(after.tags ?? {}).length, 50, 'tags as they were');
  });

  it('access policy: a principal that had get already (someone else gave it) keeps it after a revoke', async () => {
    const clients = labClients();
    const { ref, get } = await foreignVault(clients, false);
    const owner = binding(['keyVault']);
    const vault = await createKeyVaultActivities(clients).ensureKeyVault({ ...ref, accessMode: 'accessPolicy', owner });
    const cluster = await seedCluster();
    const access = createKeyVaultAccessActivities(clients);
    const vaultRef = { ...ref, id: vault.id };
    await access.grantKeyVaultAccess({
      cluster,
      nodeResourceGroup: cluster.nodeResourceGroup,
      vault: vaultRef,
      hostIdentity: 'kubeletIdentity',
      kubeletIdentity: { objectId: LAB_LIMITED_OBJECT_ID },
      accessMode: 'accessPolicy',
      owner,
    });
    const revoked = await access.revokeKeyVaultAccess({ vault: vaultRef, principalId: LAB_LIMITED_OBJECT_ID, owner });
    assert.deepEqual(revoked.revoked, []);
    const entry = (await get()).properties.accessPolicies?.find((p) => p.objectId === LAB_LIMITED_OBJECT_ID);
    assert.deepEqual([...(entry?.permissions.secrets ?? [])].sort(), ['get', 'list'], 'their entry as they made it');
  });
});

describe('storeUserSecret with copyFrom (one password per user)', () => {
  async function canonical() {
    const clients = labClients();
    const kv = createKeyVaultActivities(clients);
    const a = binding();
    const ref = { subscriptionId: sub(), resourceGroup: LAB_RG, location: LOCATION };
    const first = await kv.ensureKeyVault({ ...ref, name: unique('kv-c1-'), accessMode: 'accessPolicy', owner: a });
    const user = unique('gmsa-u-');
    const stored = await kv.storeUserSecret({
      vaultUri: first.vaultUri,
      secretName: 'gmsa-c',
      domainFqdn: FQDN,
      user,
      owner: a,
    });
    const b = binding();
    const second = await kv.ensureKeyVault({ ...ref, name: unique('kv-c2-'), accessMode: 'accessPolicy', owner: b });
    return { clients, kv, first, second, stored, user, b };
  }

  it("copies the canonical value into this binding's vault; a rerun writes nothing", async () => {
    const { clients, kv, first, second, stored, user, b } = await canonical();
    const input = {
      vaultUri: second.vaultUri,
      secretName: 'gmsa-copy',
      domainFqdn: FQDN,
      user,
      copyFrom: stored.secretUri,
      owner: b,
    };
    const r = await kv.storeUserSecret(input);
    assert.equal(r.created, true);
    assert.equal(r.copiedFrom, stored.secretUri);
    const source = await readAs(clients.secrets(first.vaultUri), 'gmsa-c');
    const copy = await readAs(clients.secrets(second.vaultUri), 'gmsa-copy');
    assert.ok(source.value !== undefined && copy.value === source.value, 'both vaults hold the same password');
    assert.equal((await kv.storeUserSecret(input)).created, false);
    const versions: string[] = [];
    for await (const v of clients.secrets(second.vaultUri).listPropertiesOfSecretVersions('gmsa-copy'))
      versions.push(String(v.version));
    assert.equal(versions.length, 1, 'no new version when the value is the same');
  });

  it('fails Conflict naming the canonical secret when it is missing or unreadable, and writes nothing', async () => {
    const { clients, kv, first, second, user, b } = await canonical();
    const missing = `${first.vaultUri}secrets/${unique('absent-')}`;
    const input = { vaultUri: second.vaultUri, secretName: 'gmsa-copy', domainFqdn: FQDN, user, owner: b };
    const f = await failure(kv.storeUserSecret({ ...input, copyFrom: missing }));
    assert.equal(f.type, 'Conflict');
    assert.equal(f.nonRetryable, true);
    assert.ok(f.message.includes(missing), f.message);
    assert.match(f.message, /Key Vault Secrets User/);

    // A vault the worker may write to but not read: 403 on the canonical secret.
    const { ref } = await foreignVault(clients, false);
    const me = await clients.caller();
    await clients.keyVault(sub()).vaults.updateAccessPolicy(LAB_RG, ref.name, 'add', {
      properties: {
        accessPolicies: [{ tenantId: me.tenantId, objectId: me.objectId, permissions: { secrets: ['set'] } }],
      },
    });
    const uri = String((await clients.keyVault(sub()).vaults.get(LAB_RG, ref.name)).properties.vaultUri);
    await clients.secrets(uri).setSecret('canon', `${FQDN}\\${user}:Some-Passw0rd-123`);
    const g = await failure(kv.storeUserSecret({ ...input, copyFrom: `${uri}secrets/canon` }));
    assert.equal(g.type, 'Conflict');
    assert.match(g.message, /cannot be read by the worker \(403/);
    assert.deepEqual(
      await readAs(clients.secrets(second.vaultUri), 'gmsa-copy'),
      { error: 'SecretNotFound' },
      'nothing written',
    );
  });
});
