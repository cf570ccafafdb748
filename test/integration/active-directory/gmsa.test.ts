import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActiveDirectoryActivities } from '../../../activities/active-directory.js';
import { parseCcgSecret } from '../../../domain/ccg-secret.js';
import { allowedTrustees, gmsaMembershipDescriptor } from '../../../domain/security-descriptor.js';
import {
  adLabFromEnv,
  baseDn,
  ccgSecret,
  connect,
  deleteBySam,
  readEntry,
  replaceAttribute,
  strongPassword,
  uniqueName,
  vaultUri,
  type AdLab,
} from '../../support/ad-lab.js';
import { failureOf } from '../../support/failure.js';
import { InMemorySecretReader } from '../../../lab/in-memory-secret-reader.js';
import { parseManagedPasswordBlob } from '../../support/managed-password-blob.js';

const GMSA_ATTRIBUTES = [
  'objectClass',
  'sAMAccountName',
  'dNSHostName',
  'msDS-ManagedPasswordInterval',
  'servicePrincipalName',
  'msDS-SupportedEncryptionTypes',
  'userAccountControl',
  'msDS-GroupMSAMembership',
];

describe('ensureGmsa / removeGmsa against the lab DC', () => {
  let lab: AdLab;
  let ad: ReturnType<typeof createActiveDirectoryActivities>;
  const secrets = new InMemorySecretReader();
  const cleanup: string[] = [];
  const secretName = (user: string) => `gmsa-${user}`;
  // One binding for the whole file: every account here is this binding's (ownership.test.ts covers the others).
  const owner = { binding: uniqueName('test-gmsa-'), adopt: [] };

  /** A standard user made the product's way: password generated, stored as the secret, read back by the activity. */
  async function standardUser(prefix: string) {
    const user = uniqueName(prefix);
    cleanup.push(user);
    secrets.set(vaultUri, secretName(user), ccgSecret(lab.domainFqdn, user, strongPassword()));
    return {
      user,
      ...(await ad.ensureDomainUser({
        domainFqdn: lab.domainFqdn,
        user,
        secret: { vaultUri, secretName: secretName(user) },
        owner,
      })),
    };
  }
  const newGmsa = (prefix = 'gt-') => {
    const name = uniqueName(prefix);
    cleanup.push(`${name}$`);
    return name;
  };

  before(() => {
    lab = adLabFromEnv();
    ad = createActiveDirectoryActivities({ config: lab.config, secrets });
  });
  after(async () => {
    for (const sam of cleanup) await deleteBySam(lab, sam);
  });

  test('creates the gMSA in Managed Service Accounts with name$, host name, interval, SPNs and encryption types', async () => {
    const reader = await standardUser('gu-');
    const name = newGmsa();
    const out = await ad.ensureGmsa({ domainFqdn: lab.domainFqdn, name, allowedPrincipalSids: [reader.sid], owner });
    assert.equal(out.created, true);
    assert.equal(out.membershipChanged, false);
    assert.equal(out.dn, `CN=${name},CN=Managed Service Accounts,${baseDn(lab)}`);
    assert.match(out.sid, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
    const e = await readEntry(lab, out.dn, GMSA_ATTRIBUTES);
    assert.ok(e);
    assert.ok([e.objectClass].flat().includes('msDS-GroupManagedServiceAccount'));
    assert.equal(e.sAMAccountName, `${name}$`);
    assert.equal(e.dNSHostName, `${name}.${lab.domainFqdn}`);
    assert.equal(e['msDS-ManagedPasswordInterval'], '30');
    assert.deepEqual([e.servicePrincipalName].flat().sort(), [`host/${name}`, `host/${name}.${lab.domainFqdn}`].sort());
    assert.equal(e['msDS-SupportedEncryptionTypes'], '28');
    assert.equal(e.userAccountControl, '4096');
    assert.deepEqual(allowedTrustees(e['msDS-GroupMSAMembership'] as Buffer), [reader.sid]);
  });

  test('a rerun changes nothing (a mixed-case name included)', async () => {
    const reader = await standardUser('gu-');
    const name = newGmsa('Gt-');
    const input = { domainFqdn: lab.domainFqdn, name, allowedPrincipalSids: [reader.sid], owner };
    const first = await ad.ensureGmsa(input);
    const before = await readEntry(lab, first.dn, ['*', 'uSNChanged', 'msDS-GroupMSAMembership']);
    assert.deepEqual(await ad.ensureGmsa(input), { ...first, created: false });
    assert.deepEqual(await readEntry(lab, first.dn, ['*', 'uSNChanged', 'msDS-GroupMSAMembership']), before);
  });

  test('merging a user into a descriptor that names another trustee keeps that trustee', async () => {
    const [first, other, added] = [await standardUser('gu-'), await standardUser('go-'), await standardUser('ga-')];
    const name = newGmsa();
    const { dn } = await ad.ensureGmsa({ domainFqdn: lab.domainFqdn, name, allowedPrincipalSids: [first.sid], owner });
    // Someone else (an AD admin) adds a trustee by hand.
    await replaceAttribute(lab, dn, 'msDS-GroupMSAMembership', [gmsaMembershipDescriptor([first.sid, other.sid])]);
    const out = await ad.ensureGmsa({ domainFqdn: lab.domainFqdn, name, allowedPrincipalSids: [added.sid], owner });
    assert.deepEqual([out.created, out.membershipChanged], [false, true]);
    const e = await readEntry(lab, dn, ['msDS-GroupMSAMembership']);
    assert.deepEqual(allowedTrustees(e?.['msDS-GroupMSAMembership'] as Buffer), [first.sid, other.sid, added.sid]);
    const again = await ad.ensureGmsa({
      domainFqdn: lab.domainFqdn,
      name,
      allowedPrincipalSids: [added.sid, other.sid],
      owner,
    });
    assert.equal(again.membershipChanged, false);
  });

  test('end to end: the standard user, with the password read back from the secret, retrieves the managed password; a user not in the descriptor gets nothing', async () => {
    const reader = await standardUser('gu-');
    const outsider = await standardUser('gx-');
    const name = newGmsa();
    const { dn } = await ad.ensureGmsa({ domainFqdn: lab.domainFqdn, name, allowedPrincipalSids: [reader.sid], owner });

    const readAs = async (user: string) => {
      // What CCG does on a node: read the secret, split it by the plugin's rule, bind as that user, read the blob.
      const credential = parseCcgSecret(await secrets.read(vaultUri, secretName(user)));
      assert.ok(credential);
      const s = await connect(lab, `${credential.user}@${credential.domain}`, credential.password);
      try {
        return (await s.read(dn, ['msDS-ManagedPassword']))?.['msDS-ManagedPassword'];
      } finally {
        await s.close();
      }
    };

    const blob = await readAs(reader.user);
    assert.ok(Buffer.isBuffer(blob), 'the permitted user receives msDS-ManagedPassword');
    const parsed = parseManagedPasswordBlob(blob);
    assert.equal(parsed.version, 1);
    assert.equal(parsed.length, blob.length);
    assert.equal(parsed.currentPassword.length, 256, 'a 128-character (256-byte UTF-16) password');

    const denied = await readAs(outsider.user);
    assert.ok(denied === undefined || (Array.isArray(denied) && denied.length === 0), 'the outsider gets nothing');
  });

  test('a name over 15 characters, a name with $, or a malformed SID fails for good', async () => {
    const reader = await standardUser('gu-');
    const base = { domainFqdn: lab.domainFqdn, allowedPrincipalSids: [reader.sid], owner };
    await assert.rejects(
      ad.ensureGmsa({ ...base, name: 'g'.repeat(16) }),
      failureOf('InvalidInput', true, /16 characters long; Active Directory allows 1 to 15/),
    );
    await assert.rejects(
      ad.ensureGmsa({ ...base, name: 'gmsa$' }),
      failureOf('InvalidInput', true, /without the trailing \$/),
    );
    await assert.rejects(
      ad.ensureGmsa({ ...base, name: 'gmsa', allowedPrincipalSids: ['S-1-5-x'] }),
      failureOf('InvalidInput', true, /is not a SID/),
    );
  });

  test('without a usable KDS root key the creation fails for good and explains the 10-hour rule', async () => {
    const reader = await standardUser('gu-');
    // A clock from before every key of the lab DC started: no key is usable yet.
    const early = createActiveDirectoryActivities({
      config: lab.config,
      secrets,
      now: () => new Date('2001-01-01T00:00:00Z'),
    });
    await assert.rejects(
      early.ensureGmsa({ domainFqdn: lab.domainFqdn, name: newGmsa(), allowedPrincipalSids: [reader.sid], owner }),
      failureOf(
        'PreconditionFailed',
        true,
        /cannot create gMSA .* yet: domain controllers use a KDS root key only 10 hours after its msKds-UseStartTime.*becomes usable at/,
      ),
    );
  });

  test('a name held by a user account is a conflict, not a gMSA', async () => {
    const holder = await standardUser('gh-');
    // A user whose sAMAccountName ends in $ (allowed for users) takes the gMSA's account name.
    await replaceAttribute(lab, holder.dn, 'sAMAccountName', [`${holder.user.slice(0, 15)}$`]);
    cleanup.push(`${holder.user.slice(0, 15)}$`);
    await assert.rejects(
      ad.ensureGmsa({
        domainFqdn: lab.domainFqdn,
        name: holder.user.slice(0, 15),
        allowedPrincipalSids: [holder.sid],
        owner,
      }),
      failureOf('Conflict', true, /not a group managed service account/),
    );
  });

  test('removeGmsa removes it, then reports it absent', async () => {
    const reader = await standardUser('gu-');
    const name = newGmsa();
    const { dn } = await ad.ensureGmsa({ domainFqdn: lab.domainFqdn, name, allowedPrincipalSids: [reader.sid], owner });
    assert.deepEqual(await ad.removeGmsa({ domainFqdn: lab.domainFqdn, name, owner }), { dn, removed: true });
    assert.deepEqual(await ad.removeGmsa({ domainFqdn: lab.domainFqdn, name, owner }), { removed: false });
  });
});
