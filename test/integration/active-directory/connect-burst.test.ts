/**
 * A fleet's AD steps start together and each connects on its own: the connects to one DC go a few at a time
 * (ldap-session.ts DEFAULT_MAX_CONNECTING), so a burst is served in turn instead of timing out at the DC.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { createActiveDirectoryActivities } from '../../../activities/active-directory.js';
import { LdapSession } from '../../../activities/active-directory/ldap-session.js';
import { adLabFromEnv, type AdLab } from '../../support/ad-lab.js';
import { InMemorySecretReader } from '../../../lab/in-memory-secret-reader.js';

describe('a burst of connects to one DC', () => {
  let lab: AdLab;
  before(() => {
    lab = adLabFromEnv();
  });

  test('150 AD steps started at once against the lab DC all get their answer', async () => {
    // One Samba process: without the bound, about half of 150 at once failed at the connect timeout.
    const ad = createActiveDirectoryActivities({ config: lab.config, secrets: new InMemorySecretReader() });
    const results = await Promise.allSettled(
      Array.from({ length: 150 }, () => ad.getDomainFacts({ domainFqdn: lab.domainFqdn })),
    );
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason).slice(0, 200));
    assert.deepEqual(failed, [], `${failed.length} of 150 failed`);
  });

  describe('against a DC that accepts connections and never answers', () => {
    const accepted: net.Socket[] = [];
    const server = net.createServer((socket) => void accepted.push(socket));
    before(async () => {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    });
    after(() => {
      for (const s of accepted) s.destroy();
      server.close();
    });

    test('no more than maxConnecting connects are in flight at once', async () => {
      const { port } = server.address() as net.AddressInfo;
      const endpoint = {
        url: `ldaps://127.0.0.1:${port}`,
        connectTimeoutMs: 1_500,
        timeoutMs: 1_500,
        maxConnecting: 3,
      };
      const opens = Array.from({ length: 7 }, () => LdapSession.open(endpoint, 'nobody@example.test', 'unused'));
      const settled = Promise.allSettled(opens);
      while (accepted.length < 3) await new Promise((r) => setTimeout(r, 20));
      // The first three hang in their TLS handshake until their timeout; nobody else may connect meanwhile.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(accepted.length, 3, 'connects beyond the bound reached the DC');
      const results = await settled;
      assert.ok(
        results.every((r) => r.status === 'rejected'),
        'a DC that never answers refuses every session',
      );
      assert.equal(accepted.length, 7, 'each waiting connect had its turn once a slot was free');
    });
  });
});
