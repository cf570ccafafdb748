import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createActiveDirectoryActivities } from '../../../activities/active-directory.js';
import { KDS_DEFAULTS } from '../../../activities/active-directory/kds-defaults.js';
import { dateFromFileTime } from '../../../domain/filetime.js';
import {
  adLabFromEnv,
  baseDn,
  ccgSecret,
  deleteBySam,
  deleteIfPresent,
  readEntry,
  strongPassword,
  uniqueName,
  vaultUri,
  type AdLab,
} from '../../support/ad-lab.js';
import { InMemorySecretReader } from '../../support/in-memory-secret-reader.js';

const HOUR = 3600_000;
// Keys this test creates start a year back: older than the DC's own key, so the DC never derives a gMSA password
// from them and deleting them afterwards cannot break another test.
const YEAR = 365 * 24 * HOUR;

describe('ensureKdsRootKey against the lab DC', () => {
  let lab: AdLab;
  const created: string[] = [];
  const rootKeyDn = (id: string) =>
    `CN=${id},CN=Master Root Keys,CN=Group Key Distribution Service,CN=Services,CN=Configuration,${baseDn(lab)}`;
  const activities = (now?: () => Date) =>
    createActiveDirectoryActivities({ config: lab.config, secrets: new InMemorySecretReader(), now });

  before(() => {
    lab = adLabFromEnv();
  });
  after(async () => {
    for (const id of created) await deleteIfPresent(lab, rootKeyDn(id));
  });

  test('finds the usable key the DC already has and creates nothing, even when asked to create', async () => {
    const ad = activities();
    const first = await ad.ensureKdsRootKey({ create: true, effective: 'immediately' });
    assert.equal(first.created, false);
    assert.ok(new Date(first.usableAt) <= new Date(), 'the key found is usable now');
    assert.deepEqual(await ad.ensureKdsRootKey({ create: false, effective: 'immediately' }), first);
  });

  test('"immediately" creates a key with every mandatory attribute, usable 10 h after its start; a rerun reuses it', async () => {
    const fakeNow = new Date(Date.now() - YEAR);
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

  test('"backdated" creates a key usable at once when only a pending key exists; a rerun reuses it', async () => {
    const fakeNow = new Date(Date.now() - YEAR + HOUR);
    const ad = activities(() => fakeNow);
    const out = await ad.ensureKdsRootKey({ create: true, effective: 'backdated' });
    created.push(out.keyId);
    assert.equal(out.created, true);
    assert.equal(out.usableAt, fakeNow.toISOString());
    const key = await readEntry(lab, rootKeyDn(out.keyId), ['msKds-UseStartTime']);
    assert.equal(dateFromFileTime(String(key?.['msKds-UseStartTime'])).getTime(), fakeNow.getTime() - 10 * HOUR);
    assert.deepEqual(await ad.ensureKdsRootKey({ create: true, effective: 'backdated' }), { ...out, created: false });
  });

  test('without create, a key that is not usable yet is returned with the time it becomes usable', async () => {
    const fakeNow = new Date(Date.now() - YEAR - 5 * HOUR);
    const out = await activities(() => fakeNow).ensureKdsRootKey({ create: false, effective: 'immediately' });
    assert.equal(out.created, false);
    assert.ok(new Date(out.usableAt) > fakeNow);
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
