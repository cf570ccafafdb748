/**
 * stageUserPassword, publishUserPassword and dropStagedPassword with the real @azure/keyvault-secrets client against
 * the lab's vault data plane: two vaults holding one user's secret, a foreign secret, one of another user and one
 * that is gone; what a rerun does at each point; and the staging secret's soft-deleted leftover.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createKeyVaultActivities } from '../../../activities/azure/key-vault.js';
import { createSecretVersionActivities, STAGED_FOR_TAG } from '../../../activities/azure/secret-versions.js';
import type { SecretRef } from '../../../contract/rotation.js';
import { parseCcgSecret } from '../../../domain/ccg-secret.js';
import { ownershipFromTags } from '../../../domain/ownership.js';
import { azureLabSettings, failure, LAB_RG, labClients, LOCATION, unique } from '../../support/azure-lab.js';

const DOMAIN = 'lab.example.test';
const owner = { binding: unique('gmsa-rot-t-'), adopt: [] };
const uri = (r: SecretRef) => `${r.vaultUri.replace(/\/$/, '')}/secrets/${r.secretName}`;

describe('the Key Vault side of a rotation', () => {
  const clients = labClients();
  const kv = createKeyVaultActivities(clients);
  const rotation = createSecretVersionActivities(clients);
  let vaults: string[] = [];
  const value = async (r: SecretRef) => (await clients.secrets(r.vaultUri).getSecret(r.secretName)).value!;
  const props = async (r: SecretRef) => (await clients.secrets(r.vaultUri).getSecret(r.secretName)).properties;

  before(async () => {
    vaults = [];
    for (let i = 0; i < 2; i++) {
      const v = await kv.ensureKeyVault({
        owner,
        subscriptionId: azureLabSettings().AZURE_SUBSCRIPTION_ID as string,
        resourceGroup: LAB_RG,
        name: unique('kv-rot-'),
        location: LOCATION,
        accessMode: 'accessPolicy',
      });
      vaults.push(v.vaultUri);
    }
  });

  /** One user's secret in both vaults (the second a copy of the canonical), as two bindings leave them. */
  async function user() {
    const name = unique('gmsa-r-');
    const canonical = { vaultUri: vaults[0]!, secretName: `s-${name}` };
    const copy = { vaultUri: vaults[1]!, secretName: `s-${name}` };
    await kv.storeUserSecret({ ...canonical, domainFqdn: DOMAIN, user: name, owner });
    await kv.storeUserSecret({ ...copy, domainFqdn: DOMAIN, user: name, owner, copyFrom: uri(canonical) });
    return { name, canonical, copy, u: { domainFqdn: DOMAIN, user: name, owner } };
  }

  it('stages a new password for the user next to the canonical secret, tagged ours; a rerun keeps it', async () => {
    const { canonical, copy, u, name } = await user();
    const old = await value(canonical);
    const staged = await rotation.stageUserPassword({ ...u, candidates: [canonical, copy] });
    assert.deepEqual(staged.canonical, canonical);
    assert.deepEqual(staged.staged, { vaultUri: canonical.vaultUri, secretName: `${canonical.secretName}-next` });
    assert.deepEqual(staged.targets, [copy, canonical], 'the canonical secret is written last');
    assert.equal(staged.created, true);
    const next = await value(staged.staged);
    const parsed = parseCcgSecret(next);
    assert.equal(parsed?.user, name);
    assert.equal(parsed?.domain, DOMAIN);
    assert.notEqual(next, old, 'the staged password is the old one');
    const tags = (await props(staged.staged)).tags;
    assert.ok(ownershipFromTags(tags), JSON.stringify(tags));
    assert.equal(tags?.[STAGED_FOR_TAG], canonical.secretName);
    assert.ok(!JSON.stringify(staged).includes(parsed!.password), 'the result holds the password');

    const again = await rotation.stageUserPassword({ ...u, candidates: [canonical, copy] });
    assert.deepEqual(again, { ...staged, created: false });
    assert.equal(await value(staged.staged), next, 'a rerun made a second password');
  });

  it("skips what is gone, foreign or another user's, before writing anything; the first usable one is canonical", async () => {
    const { canonical, copy, u } = await user();
    const gone = { vaultUri: vaults[0]!, secretName: unique('gone-') };
    const foreign = { vaultUri: vaults[1]!, secretName: unique('foreign-') };
    await clients.secrets(foreign.vaultUri).setSecret(foreign.secretName, `${DOMAIN}\\${u.user}:Someone-Else-1`);
    const other = await user();
    const staged = await rotation.stageUserPassword({ ...u, candidates: [gone, canonical, foreign, other.copy, copy] });
    assert.deepEqual(staged.canonical, canonical);
    assert.deepEqual(staged.targets, [copy, canonical]);
    assert.deepEqual(
      staged.skipped.map((s) => [s.secretUri, s.reason]),
      [
        [uri(gone), 'it no longer exists'],
        [uri(foreign), "it is not marked as aks-gmsa's"],
        [uri(other.copy), `it does not hold ${DOMAIN}\\${u.user}'s credential`],
      ],
    );
    assert.equal(await value(foreign), `${DOMAIN}\\${u.user}:Someone-Else-1`);
  });

  it('publishes the staged value as a new version with the marks kept; an equal one gets none; a rerun writes nothing', async () => {
    const { canonical, copy, u } = await user();
    const staged = await rotation.stageUserPassword({ ...u, candidates: [canonical, copy] });
    const next = await value(staged.staged);
    // The copy already holds it (as after a run that failed between two vaults).
    await clients.secrets(copy.vaultUri).setSecret(copy.secretName, next, { tags: (await props(copy)).tags });
    const copyVersion = (await props(copy)).version;
    const before = await props(canonical);

    const out = await rotation.publishUserPassword({ ...u, from: staged.staged, to: staged.targets });
    assert.deepEqual(out.versions[0], { secretUri: uri(copy), version: copyVersion, changed: false });
    assert.equal(out.versions[1]?.secretUri, uri(canonical));
    assert.equal(out.versions[1]?.changed, true);
    const after = await props(canonical);
    assert.equal(after.version, out.versions[1]?.version);
    assert.notEqual(after.version, before.version, 'a new version');
    assert.deepEqual(after.tags, before.tags, 'the new version lost the marks');
    assert.equal(await value(canonical), next);
    assert.equal(await value(copy), next);

    const again = await rotation.publishUserPassword({ ...u, from: staged.staged, to: staged.targets });
    assert.ok(
      again.versions.every((v) => !v.changed),
      JSON.stringify(again),
    );
    assert.equal((await props(canonical)).version, after.version);
  });

  it('drops the staging secret; the next rotation recovers the soft-deleted name and stages a new password', async () => {
    const { canonical, copy, u } = await user();
    const first = await rotation.stageUserPassword({ ...u, candidates: [canonical, copy] });
    await rotation.publishUserPassword({ ...u, from: first.staged, to: first.targets });
    const rotated = await value(canonical);
    const dropped = await rotation.dropStagedPassword({ staged: first.staged, owner });
    assert.equal(dropped.deleted, true);
    // The worker of a vault it created may delete and recover, not purge: the name stays soft-deleted.
    assert.equal(dropped.purged, false);
    assert.deepEqual(await rotation.dropStagedPassword({ staged: first.staged, owner }), {
      deleted: false,
      purged: false,
    });

    const second = await rotation.stageUserPassword({ ...u, candidates: [canonical, copy] });
    assert.equal(second.created, true);
    const next = await value(second.staged);
    assert.notEqual(next, rotated, "the recovered staging secret kept the finished rotation's password");
    assert.equal(parseCcgSecret(next)?.user, u.user);
  });

  it("a staged password the canonical secret holds already is a finished rotation's: the next stage makes a new one", async () => {
    const { canonical, copy, u } = await user();
    const first = await rotation.stageUserPassword({ ...u, candidates: [canonical, copy] });
    await rotation.publishUserPassword({ ...u, from: first.staged, to: first.targets });
    // The drop did not happen (its attempt failed, the run ended): the next rotation must still rotate.
    const second = await rotation.stageUserPassword({ ...u, candidates: [canonical, copy] });
    assert.equal(second.created, true);
    assert.notEqual(await value(second.staged), await value(canonical));
  });

  it("a namesake of the staging secret that is not the rotation's is refused, and left as it is", async () => {
    const { canonical, copy, u } = await user();
    const namesake = { vaultUri: canonical.vaultUri, secretName: `${canonical.secretName}-next` };
    await clients.secrets(namesake.vaultUri).setSecret(namesake.secretName, "someone else's value");
    const err = await failure(rotation.stageUserPassword({ ...u, candidates: [canonical, copy] }));
    assert.equal(err.type, 'Conflict');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /is not the staging secret of aks-gmsa's rotation/);
    assert.equal(await value(namesake), "someone else's value");
    const drop = await failure(rotation.dropStagedPassword({ staged: namesake, owner }));
    assert.equal(drop.type, 'Conflict');
    assert.equal(await value(namesake), "someone else's value");
  });

  it('no usable secret at all is NotFound, naming each and what to do', async () => {
    const gone = { vaultUri: vaults[0]!, secretName: unique('gone-') };
    const err = await failure(
      rotation.stageUserPassword({ domainFqdn: DOMAIN, user: 'nobody', owner, candidates: [gone] }),
    );
    assert.equal(err.type, 'NotFound');
    assert.match(err.message, new RegExp(`${gone.secretName}: it no longer exists.*provision the binding again`));
  });
});
