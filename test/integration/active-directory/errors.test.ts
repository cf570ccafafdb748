import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BusyError, Client, UnavailableError } from 'ldapts';
import { createActiveDirectoryActivities } from '../../../activities/active-directory.js';
import type { ActiveDirectoryConfig } from '../../../activities/active-directory.js';
import { toActivityFailure } from '../../../activities/active-directory/ldap-errors.js';
import { adLabFromEnv, type AdLab } from '../../support/ad-lab.js';
import { failureOf } from '../../support/failure.js';
import { InMemorySecretReader } from '../../../lab/in-memory-secret-reader.js';

describe('connection and bind failures land in the right retry class', () => {
  let lab: AdLab;
  const facts = (config: Partial<ActiveDirectoryConfig>) =>
    createActiveDirectoryActivities({
      config: { ...lab.config, ...config },
      secrets: new InMemorySecretReader(),
    }).getDomainFacts({ domainFqdn: lab.domainFqdn });

  before(() => {
    lab = adLabFromEnv();
  });

  test('ldap:// is upgraded with StartTLS and verified the same way', async () => {
    const url = new URL(lab.config.url);
    const out = await facts({ url: `ldap://${url.hostname}:389` });
    assert.equal(out.dnsName, lab.domainFqdn);
  });

  test('wrong bind credentials: non-retryable Unauthorized, password not in the message', async () => {
    const wrong = 'Wrong-Passw0rd!-not-this-one';
    await assert.rejects(
      facts({ bindPassword: wrong }),
      failureOf('Unauthorized', true, /wrong user name or password/, wrong),
    );
  });

  test('an unreachable DC is retryable', async () => {
    await assert.rejects(
      facts({ url: 'ldaps://127.0.0.1:1' }),
      failureOf('Transient', false, /unreachable \(ECONNREFUSED/),
    );
  });

  test('a certificate from a CA that is not trusted: non-retryable, names AD_CA_FILE', async () => {
    await assert.rejects(
      facts({ caFile: undefined }),
      failureOf('NotConfigured', true, /could not be verified .*AD_CA_FILE/),
    );
  });

  test('a certificate that does not name the server: non-retryable, names AD_SERVER_NAME', async () => {
    await assert.rejects(
      facts({ serverName: 'not-the-dc.lab.example.test' }),
      failureOf('NotConfigured', true, /ERR_TLS_CERT_ALTNAME_INVALID.*AD_SERVER_NAME/),
    );
  });

  test('no TLS where TLS is expected (a port that answers in clear): non-retryable', async () => {
    const plain = net.createServer((socket) => socket.end('this port speaks no TLS\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const { port } = plain.address() as net.AddressInfo;
    try {
      await assert.rejects(facts({ url: `ldaps://127.0.0.1:${port}` }), failureOf('NotConfigured', true, /TLS/));
    } finally {
      plain.close();
    }
  });

  test('a missing CA file: non-retryable, names the file', async () => {
    await assert.rejects(
      facts({ caFile: '/nonexistent/ca.pem' }),
      failureOf('NotConfigured', true, /CA file \/nonexistent\/ca\.pem/),
    );
  });

  test("the DC's refusal of a bind without TLS maps to non-retryable NotConfigured", async () => {
    // The product never binds in clear; a raw client shows what the DC answers and how it is classified.
    const url = new URL(lab.config.url);
    const raw = new Client({ url: `ldap://${url.hostname}:389` });
    const err = await raw.bind(lab.config.bindUser, lab.config.bindPassword).then(
      () => undefined,
      (e: unknown) => e,
    );
    await raw.unbind().catch(() => undefined);
    assert.ok(err, 'the DC refuses a simple bind in clear');
    failureOf('NotConfigured', true, /requires TLS/, lab.config.bindPassword)(toActivityFailure(err, 'binding'));
  });

  test('a busy or unavailable DC (LDAP 51/52) is retryable', () => {
    failureOf('Transient', false, /busy or unavailable \(LDAP 51/)(toActivityFailure(new BusyError('busy'), 'binding'));
    failureOf(
      'Transient',
      false,
      /busy or unavailable \(LDAP 52/,
    )(toActivityFailure(new UnavailableError('shutting down'), 'binding'));
  });
});
