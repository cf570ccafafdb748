/** GMSA_API_TOKENS parsing and what each role may do. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowed, TokenTable } from '../../api/auth.js';
import { ConfigError } from '../../config/env.js';

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
});
