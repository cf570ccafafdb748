import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createActiveDirectoryActivities } from '../../../activities/active-directory.js';
import { adLabFromEnv, baseDn, connect, type AdLab } from '../../support/ad-lab.js';
import { InMemorySecretReader } from '../../../lab/in-memory-secret-reader.js';

describe('getDomainFacts against the lab DC', () => {
  let lab: AdLab;
  let ad: ReturnType<typeof createActiveDirectoryActivities>;
  before(() => {
    lab = adLabFromEnv();
    ad = createActiveDirectoryActivities({ config: lab.config, secrets: new InMemorySecretReader() });
  });

  test('returns the domain DNS, NetBIOS and forest names, and the domain (not a gMSA) GUID and SID', async () => {
    const facts = await ad.getDomainFacts({ domainFqdn: lab.domainFqdn });
    assert.equal(facts.dnsName, lab.domainFqdn);
    assert.equal(facts.netbiosName, 'LAB');
    assert.equal(facts.forestRoot, lab.domainFqdn);
    assert.match(facts.domainGuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(facts.domainSid, /^S-1-5-21-\d+-\d+-\d+$/);
    // The DC itself resolves the strings back to the domain head: the codecs agree with the server.
    const s = await connect(lab);
    try {
      assert.equal((await s.read(`<GUID=${facts.domainGuid}>`, ['cn']))?.dn, baseDn(lab));
      assert.equal((await s.read(`<SID=${facts.domainSid}>`, ['cn']))?.dn, baseDn(lab));
    } finally {
      await s.close();
    }
  });

  test('a rerun returns the same facts', async () => {
    const a = await ad.getDomainFacts({ domainFqdn: lab.domainFqdn });
    const b = await ad.getDomainFacts({ domainFqdn: lab.domainFqdn.toUpperCase() });
    assert.deepEqual(a, b);
  });

  test('a domain the configured DC does not serve is refused as bad input', async () => {
    await assert.rejects(ad.getDomainFacts({ domainFqdn: 'contoso.com' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'InvalidInput');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /serves lab\.example\.test/);
      return true;
    });
  });
});
