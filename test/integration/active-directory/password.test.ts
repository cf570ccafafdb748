/**
 * setDomainUserPassword against the lab DC: the staged password is set on a user of ours (it binds with it, and no
 * longer with the old one), a rerun changes nothing, and a user that is not ours, a privileged one, or a staged
 * secret of another user is refused with nothing changed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createActiveDirectoryActivities } from '../../../activities/active-directory.js';
import { createPasswordActivities } from '../../../activities/active-directory/password.js';
import { LdapSession } from '../../../activities/active-directory/ldap-session.js';
import { createLogger } from '../../../config/logger.js';
import { dateFromFileTime } from '../../../domain/filetime.js';
import { InMemorySecretReader } from '../../../lab/in-memory-secret-reader.js';
import { sambaPaths } from '../../../lab/samba/settings.js';
import {
  adLabFromEnv,
  ccgSecret,
  deleteBySam,
  readEntry,
  strongPassword,
  uniqueName,
  vaultUri,
  type AdLab,
} from '../../support/ad-lab.js';
import { failureOf } from '../../support/failure.js';

function sambaTool(args: string[]): string {
  const p = sambaPaths();
  return execFileSync('samba-tool', [...args, '-H', p.samLdb, '-s', p.conf], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('setDomainUserPassword against the lab DC', () => {
  let lab: AdLab;
  const secrets = new InMemorySecretReader();
  let ad: ReturnType<typeof createActiveDirectoryActivities>;
  let rotation: ReturnType<typeof createPasswordActivities>;
  const users: string[] = [];
  const owner = { binding: uniqueName('test-rotation-'), adopt: [] };
  const canBind = (dn: string, password: string) => LdapSession.canBind(lab.config, dn, password);

  /** A user of ours, made by ensureDomainUser with `old` in its secret; and the staged secret with `next`. */
  async function ourUser(prefix = 'rot-u-') {
    const user = uniqueName(prefix);
    users.push(user);
    const old = strongPassword();
    secrets.set(vaultUri, `s-${user}`, ccgSecret(lab.domainFqdn, user, old));
    const made = await ad.ensureDomainUser({
      domainFqdn: lab.domainFqdn,
      user,
      secret: { vaultUri, secretName: `s-${user}` },
      owner,
    });
    const next = strongPassword();
    secrets.set(vaultUri, `s-${user}-next`, ccgSecret(lab.domainFqdn, user, next));
    const input = { domainFqdn: lab.domainFqdn, user, from: { vaultUri, secretName: `s-${user}-next` }, owner };
    return { user, dn: made.dn, old, next, input };
  }

  before(() => {
    lab = adLabFromEnv();
    ad = createActiveDirectoryActivities({ config: lab.config, secrets });
    rotation = createPasswordActivities({ config: lab.config, secrets, log: createLogger('silent', 'test') });
  });
  after(async () => {
    for (const user of users) await deleteBySam(lab, user);
  });

  test('sets the staged password: the user binds with it and not with the old one; pwdLastSet is what it reports', async () => {
    const u = await ourUser();
    assert.equal(await canBind(u.dn, u.old), true);
    const out = await rotation.setDomainUserPassword(u.input);
    assert.equal(out.dn, u.dn);
    assert.equal(out.changed, true);
    assert.equal(await canBind(u.dn, u.next), true, 'AD takes the staged password');
    // What the rotation's order relies on: the DC still takes the previous password for "old password allowed
    // period" (Samba's name for Windows' OldPasswordAllowedPeriod; 60 minutes by default, after a reset too).
    assert.equal(await canBind(u.dn, u.old), true, 'the previous password no longer binds within the grace period');
    assert.notEqual(await canBind(u.dn, strongPassword()), true, 'any password binds');
    const entry = await readEntry(lab, u.dn, ['pwdLastSet', 'lockoutTime']);
    assert.equal(out.passwordLastSet, dateFromFileTime(String(entry?.pwdLastSet)).toISOString());
    assert.ok(!JSON.stringify(out).includes(u.next), 'the result holds the password');
  });

  test('a second rotation: the newest binds, the one before it within the grace period, the first no longer', async () => {
    const u = await ourUser();
    await rotation.setDomainUserPassword(u.input);
    const third = strongPassword();
    secrets.set(vaultUri, u.input.from.secretName, ccgSecret(lab.domainFqdn, u.user, third));
    assert.equal((await rotation.setDomainUserPassword(u.input)).changed, true);
    assert.equal(await canBind(u.dn, third), true);
    assert.equal(await canBind(u.dn, u.next), true, 'the previous password, within the grace period');
    assert.notEqual(await canBind(u.dn, u.old), true, 'the password of two rotations ago still binds');
  });

  test('a rerun finds AD has the staged password and changes nothing', async () => {
    const u = await ourUser();
    const first = await rotation.setDomainUserPassword(u.input);
    const before = await readEntry(lab, u.dn, ['pwdLastSet']);
    const again = await rotation.setDomainUserPassword(u.input);
    assert.deepEqual(again, { ...first, changed: false });
    assert.deepEqual(await readEntry(lab, u.dn, ['pwdLastSet']), before);
  });

  test('a user made by hand (no owner marker) is refused, naming it, and keeps its password', async () => {
    const user = uniqueName('rot-h-');
    users.push(user);
    sambaTool(['user', 'create', user, '--random-password']);
    const before = await readEntry(lab, `CN=${user},CN=Users,DC=${lab.domainFqdn.split('.').join(',DC=')}`, [
      'pwdLastSet',
    ]);
    const next = strongPassword();
    secrets.set(vaultUri, `s-${user}-next`, ccgSecret(lab.domainFqdn, user, next));
    await assert.rejects(
      rotation.setDomainUserPassword({
        domainFqdn: lab.domainFqdn,
        user,
        from: { vaultUri, secretName: `s-${user}-next` },
        // Even a binding that adopts users: a rotation adopts nothing.
        owner: { binding: owner.binding, adopt: ['domainUser'] },
      }),
      failureOf('Conflict', true, new RegExp(`user ${user} .*no owner marker`), next),
    );
    const after = await readEntry(lab, `CN=${user},CN=Users,DC=${lab.domainFqdn.split('.').join(',DC=')}`, [
      'pwdLastSet',
    ]);
    assert.deepEqual(after, before);
  });

  test('a user of ours made a member of Domain Admins is refused as privileged and keeps its password', async () => {
    const u = await ourUser('rot-p-');
    sambaTool(['group', 'addmembers', 'Domain Admins', u.user]);
    await assert.rejects(
      rotation.setDomainUserPassword(u.input),
      failureOf('Conflict', true, /privileged account .*whatever options\.adopt says/, u.next),
    );
    assert.equal(await canBind(u.dn, u.old), true, 'the privileged account was changed');
  });

  test('a staged secret holding another user is refused before AD is touched', async () => {
    const u = await ourUser();
    secrets.set(vaultUri, `s-${u.user}-next`, ccgSecret(lab.domainFqdn, 'someone-else', u.next));
    await assert.rejects(
      rotation.setDomainUserPassword(u.input),
      failureOf('PreconditionFailed', true, /does not hold .*staged password/, u.next),
    );
    assert.equal(await canBind(u.dn, u.old), true);
  });

  test('a user that does not exist is NotFound, saying what to do', async () => {
    const user = uniqueName('rot-n-');
    secrets.set(vaultUri, `s-${user}-next`, ccgSecret(lab.domainFqdn, user, strongPassword()));
    await assert.rejects(
      rotation.setDomainUserPassword({
        domainFqdn: lab.domainFqdn,
        user,
        from: { vaultUri, secretName: `s-${user}-next` },
        owner,
      }),
      failureOf('NotFound', true, /does not exist .*provision the binding again/),
    );
  });
});
