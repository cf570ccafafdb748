import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createActiveDirectoryActivities } from '../../../activities/active-directory.js';
import { readDomainContext } from '../../../activities/active-directory/domain-context.js';
import { KDS_DEFAULTS } from '../../../activities/active-directory/kds-defaults.js';
import { listRootKeys } from '../../../activities/active-directory/kds-root-key.js';
import { dateFromFileTime } from '../../../domain/filetime.js';
import {
  adLabFromEnv,
  baseDn,
  ccgSecret,
  deleteBySam,
  deleteIfPresent,
  connect,
  readEntry,
  strongPassword,
  uniqueName,
  vaultUri,
  withDirectoryLock,
  type AdLab,
} from '../../support/ad-lab.js';
import { InMemorySecretReader } from '../../../lab/in-memory-secret-reader.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe('ensureKdsRootKey against the lab DC', () => {
  let lab: AdLab;
  const rootKeyDn = (id: string) =>
    `CN=${id},CN=Master Root Keys,CN=Group Key Distribution Service,CN=Services,CN=Configuration,${baseDn(lab)}`;
  const activities = (now?: () => Date) =>
    createActiveDirectoryActivities({ config: lab.config, secrets: new InMemorySecretReader(), now });

  /**
   * Runs `body` with a clock of its own: two days before the oldest root key on the DC, so no key there is usable
   * or pending before the test's own, and a key made then is never the one the DC derives passwords from. The keys
   * the body made are deleted after it. The product picks among every key of the forest, so the body holds the
   * directory lock: another run's key at a nearby time would change what it finds.
   */
  async function withOwnEpoch(body: (epoch: Date, created: string[]) => Promise<void>): Promise<void> {
    await withDirectoryLock(lab, 'aks-gmsa-test-kds-lock', async () => {
      const s = await connect(lab);
      let oldest: number;
      try {
        const keys = await listRootKeys(s, await readDomainContext(s));
        oldest = Math.min(Date.now(), ...keys.map((k) => k.useStart.getTime()));
      } finally {
        await s.close();
      }
      const epoch = new Date(oldest - 2 * DAY);
      assert.ok(epoch.getFullYear() > 2002, `root keys left on the DC reach back to ${epoch.toISOString()}`);
      const created: string[] = [];
      try {
        await body(epoch, created);
      } finally {
        for (const id of created) await deleteIfPresent(lab, rootKeyDn(id));
      }
    });
  }

  before(() => {
    lab = adLabFromEnv();
  });

  test('finds the usable key the DC already has and creates nothing, even when asked to create', async () => {
    const ad = activities();
    const first = await ad.ensureKdsRootKey({ create: true, effective: 'immediately' });
    assert.equal(first.created, false);
    assert.ok(new Date(first.usableAt) <= new Date(), 'the key found is usable now');
    assert.ok(await readEntry(lab, rootKeyDn(first.keyId), ['cn']), 'the key found is on the DC');
    assert.deepEqual(await ad.ensureKdsRootKey({ create: false, effective: 'immediately' }), first);
  });

  test('"immediately" creates a key with every mandatory attribute, usable 10 h after its start; a rerun reuses it', async () => {
    await withOwnEpoch(async (fakeNow, created) => {
      const ad = activities(() => fakeNow);
      const out = await ad.ensureKdsRootKey({ create: true, effective: 'immediately' });
      created.push(out.keyId);
      assert.equal(out.created, true);
      assert.equal(out.usableAt, new Date(fakeNow.getTime() + 10 * HOUR).toISOString());

      const key = await readEntry(lab, rootKeyDn(out.keyId), ['*']);
      assert.ok(key, 'the key object exists');
      assert.deepEqual([key.objectClass].flat(), ['top', 'msKds-ProvRootKey']);
      assert.equal(key['msKds-Version'], '1');
      assert.equal(key['msKds-DomainID'], `CN=DC1,OU=Domain Controllers,${baseDn(lab)}`);
      assert.equal(key['msKds-KDFAlgorithmID'], 'SP800_108_CTR_HMAC');
      assert.deepEqual(key['msKds-KDFParam'], KDS_DEFAULTS.kdfParam);
      assert.equal(key['msKds-SecretAgreementAlgorithmID'], 'DH');
      assert.equal((key['msKds-SecretAgreementParam'] as Buffer).length, 524);
      assert.equal(key['msKds-PublicKeyLength'], '2048');
      assert.equal(key['msKds-PrivateKeyLength'], '256');
      assert.equal((key['msKds-RootKeyData'] as Buffer).length, 64);
      assert.equal(dateFromFileTime(String(key['msKds-CreateTime'])).getTime(), fakeNow.getTime());
      assert.equal(dateFromFileTime(String(key['msKds-UseStartTime'])).getTime(), fakeNow.getTime());

      const again = await ad.ensureKdsRootKey({ create: true, effective: 'immediately' });
      assert.deepEqual(again, { ...out, created: false });
    });
  });

  test('"backdated" creates a key usable at once when only a pending key exists; a rerun reuses it', async () => {
    await withOwnEpoch(async (epoch, created) => {
      // The pending key: made "immediately" an hour earlier, so usable 9 hours after the backdated run.
      const pending = await activities(() => epoch).ensureKdsRootKey({ create: true, effective: 'immediately' });
      created.push(pending.keyId);
      assert.equal(pending.created, true);

      const fakeNow = new Date(epoch.getTime() + HOUR);
      const ad = activities(() => fakeNow);
      const out = await ad.ensureKdsRootKey({ create: true, effective: 'backdated' });
      created.push(out.keyId);
      assert.equal(out.created, true);
      assert.notEqual(out.keyId, pending.keyId, 'a new key, not the pending one');
      assert.equal(out.usableAt, fakeNow.toISOString());
      const key = await readEntry(lab, rootKeyDn(out.keyId), ['msKds-UseStartTime']);
      assert.equal(dateFromFileTime(String(key?.['msKds-UseStartTime'])).getTime(), fakeNow.getTime() - 10 * HOUR);
      assert.deepEqual(await ad.ensureKdsRootKey({ create: true, effective: 'backdated' }), { ...out, created: false });
    });
  });

  test('without create, a key that is not usable yet is returned with the time it becomes usable', async () => {
    await withOwnEpoch(async (epoch, created) => {
      const pending = await activities(() => epoch).ensureKdsRootKey({ create: true, effective: 'immediately' });
      created.push(pending.keyId);
      const fakeNow = new Date(epoch.getTime() + 5 * HOUR);
      const out = await activities(() => fakeNow).ensureKdsRootKey({ create: false, effective: 'immediately' });
      assert.deepEqual(out, { keyId: pending.keyId, usableAt: pending.usableAt, created: false });
      assert.ok(new Date(out.usableAt) > fakeNow);
    });
  });

  test('"immediately" with create reuses a pending key that becomes usable before a new one would', async () => {
    await withOwnEpoch(async (epoch, created) => {
      const pending = await activities(() => epoch).ensureKdsRootKey({ create: true, effective: 'immediately' });
      created.push(pending.keyId);
      const out = await activities(() => new Date(epoch.getTime() + HOUR)).ensureKdsRootKey({
        create: true,
        effective: 'immediately',
      });
      if (out.created) created.push(out.keyId);
      assert.deepEqual(out, { keyId: pending.keyId, usableAt: pending.usableAt, created: false });
    });
  });

  describe('as an account that sees no root key (a standard user cannot read them)', () => {
    let standard: ReturnType<typeof createActiveDirectoryActivities>;
    const user = uniqueName('kds-');
    before(async () => {
      const secrets = new InMemorySecretReader();
      const password = strongPassword();
      secrets.set(vaultUri, user, ccgSecret(lab.domainFqdn, user, password));
      await createActiveDirectoryActivities({ config: lab.config, secrets }).ensureDomainUser({
        domainFqdn: lab.domainFqdn,
        user,
        secret: { vaultUri, secretName: user },
        owner: { binding: `test-kds-root-key-${user}`, adopt: [] },
      });
      standard = createActiveDirectoryActivities({
        config: { ...lab.config, bindUser: `${user}@${lab.domainFqdn}`, bindPassword: password },
        secrets,
      });
    });
    after(() => deleteBySam(lab, user));

    test('without create it fails for good and explains the 10-hour rule', async () => {
      await assert.rejects(standard.ensureKdsRootKey({ create: false, effective: 'immediately' }), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'PreconditionFailed');
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /10 hours after its msKds-UseStartTime/);
        assert.match(err.message, /no KDS root key yet/);
        return true;
      });
    });

    test('with create it fails for good as forbidden: the account may not write the configuration NC', async () => {
      await assert.rejects(standard.ensureKdsRootKey({ create: true, effective: 'backdated' }), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'Forbidden');
        assert.equal(err.nonRetryable, true);
        return true;
      });
    });
  });
});
