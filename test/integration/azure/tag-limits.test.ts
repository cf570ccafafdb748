/**
 * Azure's limits on what many bindings share, with the real SDK clients against the lab fake: ARM takes 50 tags
 * on a resource (values up to 256 characters) and a Key Vault secret 15, and Key Vault refuses a write that raced
 * another on the same vault (409 ConflictError, optimistic concurrency). The product's records stay inside the
 * limits however many bindings share an identity or a secret, and the race is a short retry, not a failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { azureFailure, VAULT_RACE_RETRY_MS } from '../../../activities/azure/errors.js';
import { createKeyVaultActivities } from '../../../activities/azure/key-vault.js';
import { createManagedIdentityActivities } from '../../../activities/azure/managed-identity.js';
import { AZURE_TAG_LIMITS, ownershipFromTags, type Owner } from '../../../domain/ownership.js';
import { azureLabSettings, LAB_RG, labClients, LOCATION, unique, withOverride } from '../../support/azure-lab.js';

const sub = () => azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
const owner = (): Owner => ({ binding: unique('gmsa-lim-t-'), adopt: [] });
const tags = (n: number, value = 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, value]));

/** What the SDK call was refused with: status and Azure's code. */
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => ({ status: 0, code: 'accepted' }),
    (e: { statusCode?: number; code?: string }) => ({ status: e.statusCode, code: e.code }),
  );

async function newVault(accessMode: 'rbac' | 'accessPolicy') {
  const clients = labClients();
  const name = unique('kv-lim-');
  const ref = { subscriptionId: sub(), resourceGroup: LAB_RG, name, location: LOCATION };
  const vault = await createKeyVaultActivities(clients).ensureKeyVault({ ...ref, accessMode, owner: owner() });
  return { clients, name, vault };
}

describe('Azure limits on shared objects', () => {
  it('ARM refuses a 51st tag and a value over 256 characters; 50 tags of 256 pass', async () => {
    const msi = labClients().msi(sub()).userAssignedIdentities;
    const name = unique('mi-lim-');
    assert.deepEqual(await refusal(msi.createOrUpdate(LAB_RG, name, { location: LOCATION, tags: tags(51) })), {
      status: 400,
      code: 'InvalidTagCount',
    });
    assert.deepEqual(
      await refusal(msi.createOrUpdate(LAB_RG, name, { location: LOCATION, tags: tags(1, 'x'.repeat(257)) })),
      { status: 400, code: 'InvalidTagValueLength' },
    );
    await msi.createOrUpdate(LAB_RG, name, { location: LOCATION, tags: tags(50, 'x'.repeat(256)) });
    assert.equal(Object.keys((await msi.get(LAB_RG, name)).tags ?? {}).length, 50);
    assert.deepEqual(await refusal(msi.update(LAB_RG, name, { tags: tags(51) })), {
      status: 400,
      code: 'InvalidTagCount',
    });
    await msi.delete(LAB_RG, name);
  });

  it('a Key Vault secret takes 15 tags, not 16', async () => {
    const { clients, vault } = await newVault('rbac');
    const secrets = clients.secrets(vault.vaultUri);
    assert.deepEqual(await refusal(secrets.setSecret(unique('s-'), 'v', { tags: tags(16) })), {
      status: 400,
      code: 'BadParameter',
    });
    const ok = await secrets.setSecret(unique('s-'), 'v', { tags: tags(15) });
    assert.equal(Object.keys(ok.properties.tags ?? {}).length, 15);
  });

  it('60 bindings on one identity and 20 on one secret: every record fits, each binding listed', async () => {
    const clients = labClients();
    const mi = createManagedIdentityActivities(clients);
    const ref = { subscriptionId: sub(), resourceGroup: LAB_RG, name: unique('mi-lim-'), location: LOCATION };
    const owners = Array.from({ length: 60 }, owner);
    for (const o of owners) await mi.ensureManagedIdentity({ ...ref, owner: o });
    const miTags = (await clients.msi(sub()).userAssignedIdentities.get(LAB_RG, ref.name)).tags ?? {};
    assert.ok(Object.keys(miTags).length <= AZURE_TAG_LIMITS.perResource, `${Object.keys(miTags).length} tags`);
    assert.equal(ownershipFromTags(miTags)?.uses.length, 60);

    const { vault } = await newVault('rbac');
    const kv = createKeyVaultActivities(clients);
    const secret = { vaultUri: vault.vaultUri, secretName: unique('s-'), domainFqdn: 'lab.example.test' };
    for (const o of owners.slice(0, 20)) await kv.storeUserSecret({ ...secret, user: 'gmsa-lim', owner: o });
    const secretTags = (await clients.secrets(vault.vaultUri).getSecret(secret.secretName)).properties.tags ?? {};
    assert.ok(Object.keys(secretTags).length <= AZURE_TAG_LIMITS.perSecret, `${Object.keys(secretTags).length} tags`);
    assert.equal(ownershipFromTags(secretTags)?.uses.length, 20);
  });

  it('two writes racing on one vault: the one applied second gets 409 ConflictError, a short retry', async () => {
    const { clients, name } = await newVault('accessPolicy');
    const me = await clients.caller();
    const vaults = clients.keyVault(sub()).vaults;
    const add = (objectId: string) =>
      vaults.updateAccessPolicy(LAB_RG, name, 'add', {
        properties: { accessPolicies: [{ tenantId: me.tenantId, objectId, permissions: { secrets: ['get'] } }] },
      });
    const [a, b] = ['00000000-0000-4000-8000-00000000aa01', '00000000-0000-4000-8000-00000000aa02'];
    // Both in flight for 300 ms: the first applied wins, the other began before that change.
    const results = await withOverride({ pathIncludes: name, op: 'PUT accessPolicies', latencyMs: 300 }, () =>
      Promise.allSettled([add(a), add(b)]),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, 1, JSON.stringify(results.map((r) => r.status)));
    const e = (refused[0] as PromiseRejectedResult).reason as { statusCode?: number; code?: string; message?: string };
    assert.equal(e.statusCode, 409);
    assert.equal(e.code, 'ConflictError');
    assert.match(String(e.message), /changed from the point the operation began/);
    const f = azureFailure(e, `add access policy on vault ${name}`);
    assert.equal(f.nonRetryable, false);
    assert.ok(Number(f.nextRetryDelay) <= VAULT_RACE_RETRY_MS.max, 'retried in moments');

    // Written one after the other, both land.
    const lost = results[0]!.status === 'rejected' ? a : b;
    await add(lost);
    const policies = (await vaults.get(LAB_RG, name)).properties.accessPolicies ?? [];
    for (const oid of [a, b])
      assert.ok(
        policies.some((p) => p.objectId === oid),
        oid,
      );
  });
});
