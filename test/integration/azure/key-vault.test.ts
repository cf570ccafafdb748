/**
 * ensureKeyVault, storeUserSecret, the secret reader and deleteKeyVault with the real @azure/arm-keyvault,
 * @azure/arm-authorization and @azure/keyvault-secrets clients against the lab ARM fake and its vault data plane.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyVaultActivities, createSecretReader } from '../../../activities/azure/key-vault.js';
import {
  azureLabSettings,
  failure,
  LAB_RG,
  labClients,
  LOCATION,
  mark,
  requestsSince,
  unique,
  withOverride,
} from '../../support/azure-lab.js';

const SECRETS_OFFICER = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7';
/** This file's binding: what it creates carries its marks. */
const owner = { binding: unique('gmsa-kv-t-'), adopt: [] };
const vaultRef = () => ({
  owner,
  subscriptionId: azureLabSettings().AZURE_SUBSCRIPTION_ID as string,
  resourceGroup: LAB_RG,
  name: unique('kv-t-'),
  location: LOCATION,
});

/** The CCG plugin's split, written out independently of the product's parser. */
function pluginSplit(value: string) {
  const slash = value.indexOf('\\');
  const colon = value.indexOf(':');
  assert.ok(slash > 0 && colon > slash, 'the first ":" must come after the first "\\"');
  return { domain: value.slice(0, slash), user: value.slice(slash + 1, colon), password: value.slice(colon + 1) };
}

describe('ensureKeyVault', () => {
  it('creates an access-policy vault the worker can write to; a rerun changes nothing', async () => {
    const ref = vaultRef();
    const clients = labClients();
    const { ensureKeyVault } = createKeyVaultActivities(clients);
    const since = await mark();
    const first = await ensureKeyVault({ ...ref, accessMode: 'accessPolicy' });
    assert.equal(first.created, true);
    assert.match(first.vaultUri, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const second = await ensureKeyVault({ ...ref, accessMode: 'accessPolicy' });
    assert.deepEqual(second, { ...first, created: false });
    const writes = (await requestsSince(since, ref.name)).filter((r) => r.method === 'PUT');
    assert.deepEqual(
      writes.map((r) => r.op),
      ['PUT vaults'],
      'one vault PUT, no policy writes on the rerun',
    );
    const vault = await clients.keyVault(ref.subscriptionId).vaults.get(ref.resourceGroup, ref.name);
    assert.equal(vault.properties.enableRbacAuthorization, false);
    const me = await clients.caller();
    const mine = vault.properties.accessPolicies?.filter((p) => p.objectId === me.objectId) ?? [];
    assert.equal(mine.length, 1);
    assert.ok(mine[0]?.permissions.secrets?.includes('set'));
  });

  it('creates an RBAC vault and gives the worker Key Vault Secrets Officer on it, once', async () => {
    const ref = vaultRef();
    const clients = labClients();
    const { ensureKeyVault } = createKeyVaultActivities(clients);
    const vault = await ensureKeyVault({ ...ref, accessMode: 'rbac' });
    await ensureKeyVault({ ...ref, accessMode: 'rbac' });
    const me = await clients.caller();
    const roles: string[] = [];
    for await (const a of clients
      .authorization(ref.subscriptionId)
      .roleAssignments.listForScope(vault.id, { filter: `assignedTo('${me.objectId}')` })) {
      // Assignments inherited from above the vault (the lab client's own on the subscription) are not this one's.
      if (a.scope?.toLowerCase() !== vault.id.toLowerCase()) continue;
      roles.push(String(a.roleDefinitionId).split('/').pop() as string);
    }
    assert.deepEqual(roles, [SECRETS_OFFICER]);
    const stored = await createKeyVaultActivities(clients).storeUserSecret({
      vaultUri: vault.vaultUri,
      secretName: 'gmsa-user',
      domainFqdn: 'lab.example.test',
      user: 'gmsa-user1',
      owner,
    });
    assert.equal(stored.created, true, 'the role lets the worker write the secret');
  });

  it("retries, not fails, while the worker's new role is still propagating to the data plane", async () => {
    const ref = vaultRef();
    const a = createKeyVaultActivities(labClients());
    // Propagation to this vault alone waits for the release: "before" and "after" are states, not time windows.
    await withOverride({ pathIncludes: ref.name, rbacPropagationMs: 'held' }, async (propagation) => {
      const { vaultUri } = await a.ensureKeyVault({ ...ref, accessMode: 'rbac' });
      const input = { vaultUri, secretName: 's', domainFqdn: 'lab.example.test', user: 'gmsa-u2', owner };
      const since = await mark();
      const f = await failure(a.storeUserSecret(input));
      assert.equal(f.type, 'Transient');
      assert.equal(f.nonRetryable, false);
      assert.match(f.message, /ForbiddenByRbac|propagat/);
      // The 401s are the bearer challenge the client answers; every call with a token was refused.
      const before = (await requestsSince(since, `vault:${ref.name}`)).filter((r) => r.status !== 401);
      assert.ok(before.length > 0 && before.every((r) => r.status === 403), 'every data-plane call refused');
      await propagation.release();
      assert.equal((await a.storeUserSecret(input)).created, true);
    });
  });

  it('refuses a name held by a soft-deleted vault, saying how to recover or purge', async () => {
    const ref = vaultRef();
    const a = createKeyVaultActivities(labClients());
    await a.ensureKeyVault({ ...ref, accessMode: 'accessPolicy' });
    assert.deepEqual(await a.deleteKeyVault(ref), { deleted: true, purged: false });
    const f = await failure(a.ensureKeyVault({ ...ref, accessMode: 'accessPolicy' }));
    assert.equal(f.type, 'Conflict');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, new RegExp(`'${ref.name}' is held by a soft-deleted vault \\(deleted .*\\)`));
    assert.match(f.message, /az keyvault purge --name/);
    assert.deepEqual(await a.deleteKeyVault({ ...ref, purge: true }), { deleted: false, purged: true });
    assert.equal(
      (await a.ensureKeyVault({ ...ref, accessMode: 'accessPolicy' })).created,
      true,
      'purged name is free again',
    );
  });

  it('refuses a name that another resource group owns', async () => {
    const ref = vaultRef();
    const a = createKeyVaultActivities(labClients());
    await a.ensureKeyVault({ ...ref, accessMode: 'accessPolicy' });
    const f = await failure(
      a.ensureKeyVault({ ...ref, resourceGroup: `MC_${LAB_RG}_aks-gmsa-lab_${LOCATION}`, accessMode: 'accessPolicy' }),
    );
    assert.equal(f.type, 'Conflict');
    assert.match(f.message, /belongs to another vault/);
  });

  it('refuses to switch an existing vault between access models', async () => {
    const ref = vaultRef();
    const a = createKeyVaultActivities(labClients());
    await a.ensureKeyVault({ ...ref, accessMode: 'accessPolicy' });
    const f = await failure(a.ensureKeyVault({ ...ref, accessMode: 'rbac' }));
    assert.equal(f.type, 'PreconditionFailed');
    assert.match(f.message, /exists in accessPolicy mode but rbac was requested/);
  });
});

describe('storeUserSecret', () => {
  it('writes DOMAIN\\user:password that the node plugin can split, and reuses it on a rerun', async () => {
    const ref = vaultRef();
    const clients = labClients();
    const a = createKeyVaultActivities(clients);
    const { vaultUri } = await a.ensureKeyVault({ ...ref, accessMode: 'accessPolicy' });
    const input = {
      vaultUri,
      secretName: 'gmsa-webapp01',
      domainFqdn: 'lab.example.test',
      user: 'gmsa-webapp01',
      owner,
    };
    const first = await a.storeUserSecret(input);
    assert.equal(first.created, true);
    assert.equal(first.secretUri, `${vaultUri}secrets/gmsa-webapp01`, 'versionless, so the plugin reads the latest');

    const value = await createSecretReader(clients).read(vaultUri, 'gmsa-webapp01');
    const parts = pluginSplit(value);
    assert.equal(parts.domain, 'lab.example.test');
    assert.equal(parts.user, 'gmsa-webapp01');
    assert.ok(parts.password.length >= 14);
    const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(parts.password)).length;
    assert.ok(classes >= 3, 'AD complexity: three of four character classes');
    assert.ok(!parts.password.toLowerCase().includes('gmsa-webapp01'));

    const second = await a.storeUserSecret(input);
    assert.deepEqual(second, { ...first, created: false });
    assert.equal(await createSecretReader(clients).read(vaultUri, 'gmsa-webapp01'), value, 'same password kept');
    const versions: string[] = [];
    for await (const v of clients.secrets(vaultUri).listPropertiesOfSecretVersions('gmsa-webapp01'))
      versions.push(String(v.version));
    assert.equal(versions.length, 1, 'no new version on the rerun');
  });

  it('replaces a secret that names another user or is not in the plugin format (adopted)', async () => {
    const ref = vaultRef();
    const clients = labClients();
    const a = createKeyVaultActivities(clients);
    const { vaultUri } = await a.ensureKeyVault({ ...ref, accessMode: 'accessPolicy' });
    await clients.secrets(vaultUri).setSecret('s-other', 'lab.example.test\\someone-else:Secret-123');
    await clients.secrets(vaultUri).setSecret('s-bad', 'System.Security.SecureString');
    for (const secretName of ['s-other', 's-bad']) {
      const r = await a.storeUserSecret({
        vaultUri,
        secretName,
        domainFqdn: 'lab.example.test',
        user: 'gmsa-u1',
        owner: { ...owner, adopt: ['secret'] },
      });
      assert.equal(r.created, true, secretName);
      assert.equal(pluginSplit(await createSecretReader(clients).read(vaultUri, secretName)).user, 'gmsa-u1');
    }
  });

  it('recovers a soft-deleted secret of ours (a deprovision in a vault that stays), and refuses a foreign one', async () => {
    const ref = vaultRef();
    const clients = labClients();
    const a = createKeyVaultActivities(clients);
    const { vaultUri } = await a.ensureKeyVault({ ...ref, accessMode: 'accessPolicy' });
    const input = { vaultUri, secretName: 'gmsa-again', domainFqdn: 'lab.example.test', user: 'gmsa-again', owner };
    const first = await a.storeUserSecret(input);
    const value = await createSecretReader(clients).read(vaultUri, 'gmsa-again');
    assert.equal((await a.deleteUserSecret({ vaultUri, secretName: 'gmsa-again', owner })).removed, true);
    // The name is held by the deleted secret: the attempt recovers it and asks for another, which keeps it.
    const recovered = await failure(a.storeUserSecret(input));
    assert.equal(recovered.type, 'Transient');
    assert.match(recovered.message, /recovered the soft-deleted secret gmsa-again/);
    assert.equal(recovered.message.includes(value), false);
    const again = await a.storeUserSecret(input);
    assert.deepEqual(again, { ...first, created: false });
    assert.equal(await createSecretReader(clients).read(vaultUri, 'gmsa-again'), value, 'the recovered value is kept');

    await clients.secrets(vaultUri).setSecret('foreign-gone', 'lab.example.test\\x:Secret-123');
    const deleting = await clients.secrets(vaultUri).beginDeleteSecret('foreign-gone');
    await deleting.pollUntilDone();
    const refused = await failure(a.storeUserSecret({ ...input, secretName: 'foreign-gone' }));
    assert.equal(refused.type, 'Conflict');
    assert.match(refused.message, /soft-deleted and not marked as aks-gmsa's: recover it/);
    await assert.rejects(clients.secrets(vaultUri).getSecret('foreign-gone'), 'the foreign secret stays deleted');
  });

  it('the reader fails as NotFound, saying which step writes the secret', async () => {
    const ref = vaultRef();
    const clients = labClients();
    const { vaultUri } = await createKeyVaultActivities(clients).ensureKeyVault({ ...ref, accessMode: 'accessPolicy' });
    const f = await failure(createSecretReader(clients).read(vaultUri, 'absent'));
    assert.equal(f.type, 'NotFound');
    assert.match(f.message, /storeUserSecret writes it/);
  });
});
