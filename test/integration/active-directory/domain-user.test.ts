import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EqualityFilter } from 'ldapts';
import { createActiveDirectoryActivities } from '../../../activities/active-directory.js';
import { LdapSession } from '../../../activities/active-directory/ldap-session.js';
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

const UF_ACCOUNTDISABLE = 0x2;
const UF_DONT_EXPIRE_PASSWD = 0x10000;

describe('ensureDomainUser / removeDomainUser against the lab DC', () => {
  let lab: AdLab;
  let ad: ReturnType<typeof createActiveDirectoryActivities>;
  const secrets = new InMemorySecretReader();
  const users: string[] = [];
  // One binding for the whole file: every user here is this binding's (ownership.test.ts covers the others).
  const owner = { binding: uniqueName('test-domain-user-'), adopt: [] };
  /** Stores `DOMAIN\user:password` where storeUserSecret would, and returns the activity input. */
  const withSecret = (user: string, password: string, value = ccgSecret(lab.domainFqdn, user, password)) => {
    users.push(user);
    secrets.set(vaultUri, `s-${user}`, value);
    return { domainFqdn: lab.domainFqdn, user, secret: { vaultUri, secretName: `s-${user}` }, owner };
  };
  const findUser = async (user: string) => {
    const s = await connect(lab);
    try {
      const found = await s.search(baseDn(lab), new EqualityFilter({ attribute: 'sAMAccountName', value: user }), [
        'cn',
      ]);
      return found[0]?.dn;
    } finally {
      await s.close();
    }
  };
  const canBind = (user: string, password: string) =>
    LdapSession.canBind(lab.config, `${user}@${lab.domainFqdn}`, password);

  before(() => {
    lab = adLabFromEnv();
    ad = createActiveDirectoryActivities({ config: lab.config, secrets });
  });
  after(async () => {
    for (const user of users) await deleteBySam(lab, user);
  });

  test('creates an enabled user with a never-expiring password that binds with the password from the secret', async () => {
    const user = uniqueName('gmsa-u-');
    const password = strongPassword();
    const out = await ad.ensureDomainUser(withSecret(user, password));
    assert.equal(out.created, true);
    assert.equal(out.passwordReset, false);
    assert.equal(out.dn, `CN=${user},CN=Users,${baseDn(lab)}`);
    assert.match(out.sid, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
    const entry = await readEntry(lab, out.dn, ['userAccountControl', 'userPrincipalName', 'sAMAccountName']);
    const uac = Number(entry?.userAccountControl);
    assert.equal(uac & UF_DONT_EXPIRE_PASSWD, UF_DONT_EXPIRE_PASSWD);
    assert.equal(uac & UF_ACCOUNTDISABLE, 0);
    assert.equal(entry?.userPrincipalName, `${user}@${lab.domainFqdn}`);
    assert.equal(await canBind(user, password), true);
  });

  test('a rerun changes nothing', async () => {
    const user = uniqueName('gmsa-u-');
    const password = strongPassword();
    const input = withSecret(user, password);
    const first = await ad.ensureDomainUser(input);
    await canBind(user, password); // the first logon writes lastLogonTimestamp: let it happen before comparing
    const before = await readEntry(lab, first.dn, ['*']);
    const second = await ad.ensureDomainUser(input);
    assert.deepEqual(second, { ...first, created: false });
    const afterRerun = await readEntry(lab, first.dn, ['*']);
    // The DC's own logon bookkeeping (the password check is a bind) aside, every attribute is as it was.
    const bookkeeping = new Set(['whenChanged', 'uSNChanged', 'lastLogonTimestamp', 'lastLogon', 'logonCount']);
    const strip = (e: typeof before) =>
      Object.fromEntries(Object.entries(e ?? {}).filter(([k]) => !bookkeeping.has(k)));
    assert.deepEqual(strip(afterRerun), strip(before));
    assert.equal(afterRerun?.pwdLastSet, before?.pwdLastSet);
  });

  test('when the secret holds a new password, the user is reset to it and the old one stops working', async () => {
    const user = uniqueName('gmsa-u-');
    const oldPassword = strongPassword();
    await ad.ensureDomainUser(withSecret(user, oldPassword));
    const newPassword = strongPassword();
    const out = await ad.ensureDomainUser(withSecret(user, newPassword));
    assert.equal(out.created, false);
    assert.equal(out.passwordReset, true);
    assert.equal(await canBind(user, newPassword), true);
    // (The DC may still accept the old password for a grace period, as Windows does, so that is not checked.)
    assert.deepEqual(await ad.ensureDomainUser(withSecret(user, newPassword)), { ...out, passwordReset: false });
  });

  test('a disabled user is enabled again, with a never-expiring password', async () => {
    const user = uniqueName('gmsa-u-');
    const input = withSecret(user, strongPassword());
    const { dn } = await ad.ensureDomainUser(input);
    await replaceAttribute(lab, dn, 'userAccountControl', ['514']); // NORMAL_ACCOUNT | ACCOUNTDISABLE
    const out = await ad.ensureDomainUser(input);
    assert.equal(out.passwordReset, false);
    const uac = Number((await readEntry(lab, dn, ['userAccountControl']))?.userAccountControl);
    assert.equal(uac, 0x200 | UF_DONT_EXPIRE_PASSWD);
  });

  test('names with characters that need DN and filter escaping work, in another container', async () => {
    const user = `#${uniqueName('g(x)')}`;
    const input = { ...withSecret(user, strongPassword()), container: 'CN=Computers' };
    const out = await ad.ensureDomainUser(input);
    assert.equal(out.created, true);
    assert.equal(out.dn, `CN=\\#${user.slice(1)},CN=Computers,${baseDn(lab)}`);
    assert.equal((await ad.ensureDomainUser(input)).created, false);
    assert.deepEqual(
      await ad.removeDomainUser({ domainFqdn: lab.domainFqdn, user, container: 'CN=Computers', owner }),
      {
        dn: out.dn,
        removed: true,
      },
    );
  });

  test('removeDomainUser removes the user, then reports it absent', async () => {
    const user = uniqueName('gmsa-u-');
    const { dn } = await ad.ensureDomainUser(withSecret(user, strongPassword()));
    assert.deepEqual(await ad.removeDomainUser({ domainFqdn: lab.domainFqdn, user, owner }), { dn, removed: true });
    assert.deepEqual(await ad.removeDomainUser({ domainFqdn: lab.domainFqdn, user, owner }), { removed: false });
    assert.equal(await readEntry(lab, dn, ['cn']), undefined);
  });

  test('removeDomainUser refuses a namesake outside the given container', async () => {
    const user = uniqueName('gmsa-u-');
    await ad.ensureDomainUser(withSecret(user, strongPassword()));
    await assert.rejects(
      ad.removeDomainUser({ domainFqdn: lab.domainFqdn, user, container: 'CN=Computers', owner }),
      failureOf('Conflict', true, /outside CN=Computers/),
    );
  });

  test('a password the domain policy refuses fails for good with the policy text and without the password', async () => {
    const user = uniqueName('gmsa-w-');
    const weak = 'abc:1';
    await assert.rejects(
      ad.ensureDomainUser(withSecret(user, weak)),
      failureOf('InvalidInput', true, /refused the password: .*(too short|complexity)/, weak),
    );
  });

  test('a name over 20 characters fails for good before anything is written', async () => {
    const user = 'u'.repeat(21);
    await assert.rejects(
      ad.ensureDomainUser(withSecret(user, strongPassword())),
      failureOf('InvalidInput', true, /21 characters long; Active Directory allows 1 to 20/),
    );
  });

  test('a secret not in DOMAIN\\user:password form, or for another user or domain, fails for good', async () => {
    const user = uniqueName('gmsa-u-');
    const password = strongPassword();
    await assert.rejects(
      ad.ensureDomainUser(withSecret(user, password, `${user}:${password}`)),
      failureOf('InvalidInput', true, /DOMAIN\\user:password format/, password),
    );
    await assert.rejects(
      ad.ensureDomainUser(withSecret(user, password, ccgSecret(lab.domainFqdn, 'someone-else', password))),
      failureOf('InvalidInput', true, /for someone-else, not/, password),
    );
    await assert.rejects(
      ad.ensureDomainUser(withSecret(user, password, ccgSecret('LAB', user, password))),
      failureOf('InvalidInput', true, /must be the FQDN/, password),
    );
  });

  // The reader is the product's Key Vault reader over an in-memory vault: its failures are classified as in production.
  test('a secret the vault does not have fails for good, naming the step that writes it, and creates no user', async () => {
    const user = uniqueName('gmsa-u-');
    users.push(user);
    await assert.rejects(
      ad.ensureDomainUser({
        domainFqdn: lab.domainFqdn,
        user,
        secret: { vaultUri, secretName: `missing-${user}` },
        owner,
      }),
      failureOf('NotFound', true, /read secret missing-\S+ in .*404 SecretNotFound.*storeUserSecret writes it/),
    );
    assert.equal(await findUser(user), undefined, 'no user without its password');
  });

  test('a vault that answers 503 is retried, and creates no user', async () => {
    const user = uniqueName('gmsa-u-');
    const input = withSecret(user, strongPassword());
    secrets.failNext(503, 'ServiceUnavailable', 'The service is temporarily unavailable');
    await assert.rejects(
      ad.ensureDomainUser(input),
      failureOf('Transient', false, /503 ServiceUnavailable: The service is temporarily unavailable/),
    );
    assert.equal(await findUser(user), undefined, 'no user without its password');
    assert.equal((await ad.ensureDomainUser(input)).created, true, 'the retry succeeds');
  });
});
