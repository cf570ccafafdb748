/**
 * Ownership in the directory (DESIGN "A shared world"), against the lab DC: accounts made beforehand the way an
 * administrator makes them (samba-tool on the DC), privileged accounts, and users and gMSAs shared by bindings.
 * Every refusal is proven by the account's attributes before == after, not by the error alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/common';
import { createActiveDirectoryActivities } from '../../../activities/active-directory.js';
import { LdapSession } from '../../../activities/active-directory/ldap-session.js';
import { AD_MARKER_ATTRIBUTE, bindingKey, parseAdMarker, type AdoptKind } from '../../../domain/ownership.js';
import { allowedTrustees } from '../../../domain/security-descriptor.js';
import { sidToString } from '../../../domain/sid.js';
import { sambaPaths } from '../../../lab/samba/settings.js';
import {
  adLabFromEnv,
  baseDn,
  ccgSecret,
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

const UF_DONT_EXPIRE_PASSWD = 0x10000;
/** What a refusal must leave as it was: the password, the account flags, our marker; uSNChanged: any write at all. */
const WATCHED = ['pwdLastSet', 'userAccountControl', AD_MARKER_ATTRIBUTE, 'uSNChanged'];
/** The built-in accounts: not uSNChanged, which the lab admin's own logons may move. */
const PRIVILEGED_WATCHED = ['pwdLastSet', 'userAccountControl', AD_MARKER_ATTRIBUTE];
const GMSA_WATCHED = [...WATCHED, 'msDS-GroupMSAMembership', 'dNSHostName', 'servicePrincipalName'];

/** samba-tool on the DC's own database, as a domain administrator does by hand before this product ever runs. */
function sambaTool(args: string[]): string {
  const p = sambaPaths();
  return execFileSync('samba-tool', [...args, '-H', p.samLdb, '-s', p.conf], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A refusal: final, naming the account, saying adopt cannot help. */
const privilegedRefusal = (name: string) => (err: unknown) => {
  assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, got ${String(err)}`);
  assert.equal(err.nonRetryable, true, err.message);
  assert.ok(['Conflict', 'InvalidInput'].includes(err.type ?? ''), `${err.type}: ${err.message}`);
  assert.match(err.message, new RegExp(name, 'i'));
  assert.match(err.message, /whatever options\.adopt says/);
  return true;
};

describe('ownership of users and gMSAs against the lab DC', () => {
  let lab: AdLab;
  let ad: ReturnType<typeof createActiveDirectoryActivities>;
  const secrets = new InMemorySecretReader();
  const cleanup: string[] = [];
  const owner = (tag: string, ...adopt: AdoptKind[]) => ({ binding: `own-${tag}-${uniqueName('')}`, adopt });
  const usersDn = (cn: string) => `CN=${cn},CN=Users,${baseDn(lab)}`;
  const secretUri = (name: string) => `${vaultUri}/secrets/${name}`;
  const markerAt = async (dn: string) =>
    parseAdMarker((await readEntry(lab, dn, [AD_MARKER_ATTRIBUTE]))?.[AD_MARKER_ATTRIBUTE] as string | undefined);
  const sidOf = async (dn: string) => sidToString((await readEntry(lab, dn, ['objectSid']))?.objectSid as Buffer);

  /** A user made with samba-tool: no marker, a password nobody here knows. */
  const handMadeUser = (prefix: string) => {
    const user = uniqueName(prefix);
    cleanup.push(user);
    sambaTool(['user', 'create', user, '--random-password', '--description=made by hand before aks-gmsa']);
    return { user, dn: usersDn(user) };
  };
  /** The input of ensureDomainUser with `password` in this binding's secret `secretName`. */
  const inputFor = (user: string, o: ReturnType<typeof owner>, secretName: string, password = strongPassword()) => {
    secrets.set(vaultUri, secretName, ccgSecret(lab.domainFqdn, user, password));
    return { domainFqdn: lab.domainFqdn, user, secret: { vaultUri, secretName }, owner: o, password };
  };
  /** The same, for a user this test may make (and so deletes afterwards). */
  const userInput = (user: string, o: ReturnType<typeof owner>, secretName: string, password?: string) => {
    if (!cleanup.includes(user)) cleanup.push(user);
    return inputFor(user, o, secretName, password);
  };
  const canBind = (dn: string, password: string) => LdapSession.canBind(lab.config, dn, password);

  before(() => {
    lab = adLabFromEnv();
    ad = createActiveDirectoryActivities({ config: lab.config, secrets });
  });
  after(async () => {
    for (const sam of cleanup) await deleteBySam(lab, sam);
  });

  test('a user made beforehand with samba-tool: findDomainUser and ensureDomainUser refuse it, naming it, and write nothing', async () => {
    const { user, dn } = handMadeUser('own-h-');
    const before = await readEntry(lab, dn, WATCHED);
    assert.ok(before, `samba-tool made ${dn}`);
    const notOurs = new RegExp(`user ${user} \\(${dn}\\) exists .*no owner marker.*"domainUser" to options\\.adopt`);
    const o = owner('h');
    await assert.rejects(
      ad.findDomainUser({ domainFqdn: lab.domainFqdn, user, owner: o }),
      failureOf('Conflict', true, notOurs),
    );
    const input = userInput(user, o, `s-${user}`);
    await assert.rejects(ad.ensureDomainUser(input), failureOf('Conflict', true, notOurs, input.password));
    // Adopting another kind is not adopting this one.
    const gmsaOnly = { ...input, owner: owner('h', 'gmsa') };
    await assert.rejects(ad.ensureDomainUser(gmsaOnly), failureOf('Conflict', true, notOurs));
    // A removal by a binding that never used it leaves it as it is.
    assert.deepEqual(await ad.removeDomainUser({ domainFqdn: lab.domainFqdn, user, owner: o }), { dn, removed: false });
    assert.deepEqual(
      await readEntry(lab, dn, WATCHED),
      before,
      'pwdLastSet, userAccountControl and all else unchanged',
    );
  });

  test('with adopt domainUser it is adopted: password reset to the secret, never-expiring, marked adopted; its release only removes the marker', async () => {
    const { user, dn } = handMadeUser('own-a-');
    const o = owner('a', 'domainUser');
    assert.deepEqual(await ad.findDomainUser({ domainFqdn: lab.domainFqdn, user, owner: o }), {
      existing: { dn, ownership: 'adopted' },
    });
    const before = await readEntry(lab, dn, WATCHED);
    const input = userInput(user, o, `s-${user}`);
    const out = await ad.ensureDomainUser(input);
    assert.deepEqual(
      { ...out, sid: undefined },
      { dn, sid: undefined, created: false, passwordReset: true, adopted: true },
    );
    const adopted = await readEntry(lab, dn, WATCHED);
    assert.notEqual(adopted?.pwdLastSet, before?.pwdLastSet, 'the password was reset');
    assert.equal(Number(adopted?.userAccountControl) & UF_DONT_EXPIRE_PASSWD, UF_DONT_EXPIRE_PASSWD);
    assert.equal(await canBind(dn, input.password), true, 'AD takes the password in the secret');
    assert.deepEqual(await markerAt(dn), {
      createdBy: undefined,
      uses: [bindingKey(o.binding)],
      secretUri: secretUri(`s-${user}`),
    });

    // From now on it is ours, its canonical secret this binding's; a rerun changes nothing.
    assert.deepEqual(await ad.findDomainUser({ domainFqdn: lab.domainFqdn, user, owner: o }), {
      existing: { dn, ownership: 'ours', canonicalSecretUri: secretUri(`s-${user}`) },
    });
    assert.deepEqual(await ad.ensureDomainUser(input), { dn, sid: out.sid, created: false, passwordReset: false });
    const marked = await readEntry(lab, dn, WATCHED);
    assert.equal(marked?.pwdLastSet, adopted?.pwdLastSet);

    assert.deepEqual(await ad.removeDomainUser({ domainFqdn: lab.domainFqdn, user, owner: o }), { dn, removed: false });
    const released = await readEntry(lab, dn, WATCHED);
    assert.ok(released, 'the adopted user is still there');
    assert.deepEqual(released[AD_MARKER_ATTRIBUTE], [], 'with no marker left');
    assert.equal(released.pwdLastSet, marked?.pwdLastSet);
    assert.equal(released.userAccountControl, marked?.userAccountControl);
  });

  test('krbtgt and Administrator are refused with adopt by every step, and stay as they were', async () => {
    const o = owner('p', 'domainUser', 'gmsa');
    for (const name of ['krbtgt', 'Administrator']) {
      const dn = usersDn(name);
      const before = await readEntry(lab, dn, PRIVILEGED_WATCHED);
      assert.ok(before, dn);
      await assert.rejects(
        ad.findDomainUser({ domainFqdn: lab.domainFqdn, user: name, owner: o }),
        privilegedRefusal(name),
      );
      const input = inputFor(name, o, `s-priv-${name}`);
      await assert.rejects(ad.ensureDomainUser(input), privilegedRefusal(name));
      await assert.rejects(
        ad.ensureGmsa({ domainFqdn: lab.domainFqdn, name, allowedPrincipalSids: ['S-1-5-32-545'], owner: o }),
        privilegedRefusal(name),
      );
      await assert.rejects(ad.removeDomainUser({ domainFqdn: lab.domainFqdn, user: name, owner: o }));
      assert.deepEqual(
        await readEntry(lab, dn, PRIVILEGED_WATCHED),
        before,
        `${name}: pwdLastSet, uAC, marker unchanged`,
      );
    }
  });

  test('a member of Domain Admins, or an account with adminCount=1, is refused whatever adopt says, even when marked ours', async () => {
    const o = owner('d', 'domainUser');
    const { user, dn } = handMadeUser('own-d-');
    sambaTool(['group', 'addmembers', 'Domain Admins', user]);
    const before = await readEntry(lab, dn, WATCHED);
    const protectedGroup = new RegExp(
      `user ${user} .*privileged account \\(a member of a protected group \\(S-1-5-21-[\\d-]+-512\\)\\)`,
    );
    await assert.rejects(
      ad.findDomainUser({ domainFqdn: lab.domainFqdn, user, owner: o }),
      failureOf('Conflict', true, protectedGroup),
    );
    await assert.rejects(
      ad.ensureDomainUser(userInput(user, o, `s-${user}`)),
      failureOf('Conflict', true, protectedGroup),
    );
    assert.deepEqual(await readEntry(lab, dn, WATCHED), before, 'the admin is unchanged');

    // One of ours that became privileged since (findDomainUser passed, then an admin acted): re-checked, untouched.
    const ours = owner('d2');
    const mine = userInput(uniqueName('own-m-'), ours, `s-own-m-${o.binding}`);
    const made = await ad.ensureDomainUser(mine);
    await replaceAttribute(lab, made.dn, 'adminCount', ['1']);
    const marked = await readEntry(lab, made.dn, WATCHED);
    const rotated = inputFor(mine.user, ours, mine.secret.secretName); // a new password in its canonical secret
    await assert.rejects(ad.ensureDomainUser(rotated), failureOf('Conflict', true, /adminCount=1/, rotated.password));
    assert.deepEqual(await readEntry(lab, made.dn, WATCHED), marked, 'no reset, no claim');
  });

  test('the name of a group is not a user: findDomainUser refuses it', async () => {
    const group = uniqueName('own-g-');
    cleanup.push(group);
    sambaTool(['group', 'add', group]);
    await assert.rejects(
      ad.findDomainUser({ domainFqdn: lab.domainFqdn, user: group, owner: owner('g', 'domainUser') }),
      failureOf('Conflict', true, /which is not a user account/),
    );
  });

  test('one password per user: a second binding finds the canonical secret, claims the user with a copy without changing its password, and a stale copy is a conflict', async () => {
    const a = owner('1');
    const b = owner('2');
    const user = uniqueName('own-s-');
    assert.deepEqual(await ad.findDomainUser({ domainFqdn: lab.domainFqdn, user, owner: a }), {});
    const first = userInput(user, a, `a-${user}`);
    const made = await ad.ensureDomainUser(first);
    assert.equal(made.created, true);
    // Marked in the add that created it.
    assert.deepEqual(await markerAt(made.dn), {
      createdBy: a.binding,
      uses: [bindingKey(a.binding)],
      secretUri: secretUri(`a-${user}`),
    });
    assert.deepEqual(await ad.findDomainUser({ domainFqdn: lab.domainFqdn, user, owner: b }), {
      existing: { dn: made.dn, ownership: 'ours', canonicalSecretUri: secretUri(`a-${user}`) },
    });
    const before = await readEntry(lab, made.dn, WATCHED);

    // A stale copy: refused, naming both secrets and the repair; nothing written, the password still the canonical one.
    const stale = userInput(user, b, `b-${user}`);
    await assert.rejects(
      ad.ensureDomainUser(stale),
      failureOf(
        'Conflict',
        true,
        new RegExp(
          `password lives in ${secretUri(`a-${user}`)}; the copy in ${secretUri(`b-${user}`)} does not match AD.*rotate-password`,
        ),
        stale.password,
      ),
    );
    const refused = await readEntry(lab, made.dn, WATCHED);
    assert.deepEqual(
      [refused?.pwdLastSet, refused?.[AD_MARKER_ATTRIBUTE]],
      [before?.pwdLastSet, before?.[AD_MARKER_ATTRIBUTE]],
    );
    assert.equal(await canBind(made.dn, first.password), true);

    // The copy storeUserSecret makes (copyFrom): claimed, the password untouched.
    const copy = userInput(user, b, `b-${user}`, first.password);
    assert.deepEqual(await ad.ensureDomainUser(copy), { ...made, created: false });
    const claimed = await readEntry(lab, made.dn, WATCHED);
    assert.equal(claimed?.pwdLastSet, before?.pwdLastSet, 'the second binding did not change the password');
    assert.deepEqual(await markerAt(made.dn), {
      createdBy: a.binding,
      uses: [bindingKey(a.binding), bindingKey(b.binding)],
      secretUri: secretUri(`a-${user}`),
    });
  });

  test('removal by ownership: a binding that does not use the user leaves it, the creator leaving only releases it, the last binding deletes it', async () => {
    const [a, b, c] = [owner('r1'), owner('r2'), owner('r3')];
    const user = uniqueName('own-r-');
    const first = userInput(user, a, `a-${user}`);
    const { dn } = await ad.ensureDomainUser(first);
    await ad.ensureDomainUser(userInput(user, b, `b-${user}`, first.password));
    const remove = (o: typeof a) => ad.removeDomainUser({ domainFqdn: lab.domainFqdn, user, owner: o });

    const before = await readEntry(lab, dn, WATCHED);
    assert.deepEqual(await remove(c), { dn, removed: false });
    assert.deepEqual(await readEntry(lab, dn, WATCHED), before, 'untouched by a binding that never used it');
    assert.deepEqual(await remove(a), { dn, removed: false });
    assert.deepEqual(await markerAt(dn), {
      createdBy: a.binding,
      uses: [bindingKey(b.binding)],
      secretUri: secretUri(`a-${user}`),
    });
    assert.deepEqual(await remove(b), { dn, removed: true });
    assert.equal(await readEntry(lab, dn, ['cn']), undefined);
    assert.deepEqual(await remove(b), { removed: false });
  });

  describe('gMSAs', () => {
    /** A gMSA made with samba-tool, readable by a user of someone else's. */
    const handMadeGmsa = async () => {
      const name = uniqueName('own-');
      cleanup.push(`${name}$`);
      const reader = handMadeUser('own-gr-');
      const readerSid = await sidOf(reader.dn);
      sambaTool([
        'service-account',
        'create',
        `--name=${name}`,
        `--dns-host-name=${name}.${lab.domainFqdn}`,
        `--group-msa-membership=O:BAD:(A;;0xf01ff;;;${readerSid})`,
      ]);
      return { name, dn: `CN=${name},CN=Managed Service Accounts,${baseDn(lab)}`, readerSid };
    };
    /** A standard user of ours, to be a reader. */
    const ourUser = async (o: ReturnType<typeof owner>) => {
      const user = uniqueName('own-gu-');
      return ad.ensureDomainUser(userInput(user, o, `g-${user}`));
    };

    test('an unmarked gMSA is refused and its reader list unchanged; with adopt gmsa our user is merged in and it is marked adopted; its release only removes the marker', async () => {
      const existing = await handMadeGmsa();
      const o = owner('ga');
      const reader = await ourUser(o);
      const before = await readEntry(lab, existing.dn, GMSA_WATCHED);
      assert.ok(before, `samba-tool made ${existing.dn}`);
      const input = { domainFqdn: lab.domainFqdn, name: existing.name, allowedPrincipalSids: [reader.sid], owner: o };
      await assert.rejects(
        ad.ensureGmsa(input),
        failureOf(
          'Conflict',
          true,
          new RegExp(
            `gMSA ${existing.name}\\$ \\(${existing.dn}\\) exists .*no owner marker.*"gmsa" to options\\.adopt`,
          ),
        ),
      );
      assert.deepEqual(await readEntry(lab, existing.dn, GMSA_WATCHED), before, 'readers and all else unchanged');

      const adopter = { ...o, adopt: ['gmsa' as const] };
      const out = await ad.ensureGmsa({ ...input, owner: adopter });
      assert.deepEqual(
        { ...out, sid: undefined },
        { dn: existing.dn, sid: undefined, created: false, membershipChanged: true, adopted: true },
      );
      const adopted = await readEntry(lab, existing.dn, GMSA_WATCHED);
      assert.deepEqual(allowedTrustees(adopted?.['msDS-GroupMSAMembership'] as Buffer), [
        existing.readerSid,
        reader.sid,
      ]);
      assert.deepEqual(
        [adopted?.dNSHostName, adopted?.servicePrincipalName],
        [before.dNSHostName, before.servicePrincipalName],
      );
      assert.deepEqual(await markerAt(existing.dn), {
        createdBy: undefined,
        uses: [bindingKey(o.binding)],
        secretUri: undefined,
      });
      // Ours now: a rerun changes nothing.
      assert.deepEqual(await ad.ensureGmsa(input), {
        dn: existing.dn,
        sid: out.sid,
        created: false,
        membershipChanged: false,
      });

      assert.deepEqual(await ad.removeGmsa({ domainFqdn: lab.domainFqdn, name: existing.name, owner: owner('gx') }), {
        dn: existing.dn,
        removed: false,
      });
      assert.deepEqual(await ad.removeGmsa({ domainFqdn: lab.domainFqdn, name: existing.name, owner: o }), {
        dn: existing.dn,
        removed: false,
      });
      const released = await readEntry(lab, existing.dn, GMSA_WATCHED);
      assert.ok(released, 'the adopted gMSA is still there');
      assert.deepEqual(released[AD_MARKER_ATTRIBUTE], [], 'with no marker left');
    });

    test('a gMSA of ours: marked in its add, claimed by a second binding, kept by one that does not use it, deleted by the last', async () => {
      const [a, b, c] = [owner('g1'), owner('g2'), owner('g3')];
      const [ra, rb] = [await ourUser(a), await ourUser(b)];
      const name = uniqueName('own-');
      cleanup.push(`${name}$`);
      const made = await ad.ensureGmsa({ domainFqdn: lab.domainFqdn, name, allowedPrincipalSids: [ra.sid], owner: a });
      assert.equal(made.created, true);
      assert.deepEqual(await markerAt(made.dn), {
        createdBy: a.binding,
        uses: [bindingKey(a.binding)],
        secretUri: undefined,
      });
      const second = await ad.ensureGmsa({
        domainFqdn: lab.domainFqdn,
        name,
        allowedPrincipalSids: [rb.sid],
        owner: b,
      });
      assert.deepEqual([second.created, second.membershipChanged, second.adopted], [false, true, undefined]);
      assert.deepEqual((await markerAt(made.dn))?.uses, [bindingKey(a.binding), bindingKey(b.binding)]);

      const remove = (o: typeof a) => ad.removeGmsa({ domainFqdn: lab.domainFqdn, name, owner: o });
      const before = await readEntry(lab, made.dn, GMSA_WATCHED);
      assert.deepEqual(await remove(c), { dn: made.dn, removed: false });
      assert.deepEqual(await readEntry(lab, made.dn, GMSA_WATCHED), before);
      assert.deepEqual(await remove(a), { dn: made.dn, removed: false });
      assert.deepEqual(await markerAt(made.dn), {
        createdBy: a.binding,
        uses: [bindingKey(b.binding)],
        secretUri: undefined,
      });
      assert.deepEqual(await remove(b), { dn: made.dn, removed: true });
      assert.equal(await readEntry(lab, made.dn, ['cn']), undefined);
    });
  });
});
