/**
 * GMSA_API_TOKENS parsing and what each role may do; GMSA_TRUST_PROXY. How failed authentications are limited:
 * auth-failures.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowed, TokenTable } from '../../api/auth.js';
import { ConfigError } from '../../config/env.js';
import { readTrustProxy } from '../../config/trust-proxy.js';

test('role:token and role:name:token entries; one token may hold several roles', () => {
  const t = TokenTable.parse('viewer:aaaaaaaaaaaaaaaa, operator:ops:bbbbbbbbbbbbbbbb,approver:ops:bbbbbbbbbbbbbbbb');
  assert.equal(t.size, 2);
  const ops = t.authenticate('bbbbbbbbbbbbbbbb')!;
  assert.equal(ops.name, 'ops');
  assert.deepEqual(ops.roles, ['operator', 'approver']);
  assert.match(
    t.authenticate('aaaaaaaaaaaaaaaa')!.name,
    /^viewer-[0-9a-f]{8}$/,
    'an unnamed token gets a stable pseudonym',
  );
  assert.equal(t.authenticate('aaaaaaaaaaaaaaab'), undefined);
  assert.equal(t.authenticate(''), undefined);
});

test('bad entries name the variable and never echo the token', () => {
  for (const spec of ['admin:aaaaaaaaaaaaaaaa', 'viewer', 'viewer:q7z9x']) {
    assert.throws(
      () => TokenTable.parse(spec),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.variable === 'GMSA_API_TOKENS' &&
        !e.message.includes('aaaaaaaa') &&
        !e.message.includes('q7z9x'),
    );
  }
});

test('permissions: every role reads; only operators start and cancel; only approvers approve', () => {
  const p = (role: 'viewer' | 'operator' | 'approver') => ({ name: role, roles: [role] });
  assert.ok(allowed(p('viewer'), 'read') && allowed(p('operator'), 'read') && allowed(p('approver'), 'read'));
  assert.ok(allowed(p('operator'), 'start') && allowed(p('operator'), 'cancel'));
  assert.ok(!allowed(p('viewer'), 'start') && !allowed(p('approver'), 'start') && !allowed(p('approver'), 'cancel'));
  assert.ok(allowed(p('approver'), 'approve') && !allowed(p('operator'), 'approve'));
  // Encoding makes input the worker accepts: not for viewers.
  assert.ok(allowed(p('operator'), 'encode') && allowed(p('approver'), 'encode') && !allowed(p('viewer'), 'encode'));
});

test('GMSA_TRUST_PROXY: false, true or proxy addresses and CIDRs; a hop count and junk are refused', () => {
  assert.equal(readTrustProxy({}), false);
  assert.equal(readTrustProxy({ GMSA_TRUST_PROXY: 'false' }), false);
  assert.equal(readTrustProxy({ GMSA_TRUST_PROXY: 'true' }), true);
  assert.deepEqual(readTrustProxy({ GMSA_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,fd00::/8' }), [
    '10.0.0.0/8',
    '127.0.0.1',
    'fd00::/8',
  ]);
  for (const [value, message] of [
    ['2', /hop count is not honoured/],
    ['10.0.0.0/33', /not an address: 10\.0\.0\.0\/33/],
    ['ingress.local', /not an address: ingress\.local/],
  ] as const) {
    assert.throws(
      () => readTrustProxy({ GMSA_TRUST_PROXY: value }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'GMSA_TRUST_PROXY' && message.test(e.message),
      value,
    );
  }
});
