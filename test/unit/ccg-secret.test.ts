import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCcgSecret, parseCcgSecret } from '../../domain/ccg-secret.js';
import { escapeDnValue } from '../../activities/active-directory/names.js';

test('the secret splits by the CCG plugin rule: domain to the first \\, user to the next :, the rest is the password', () => {
  assert.deepEqual(parseCcgSecret('contoso.com\\gmsa-user:p:a\\ss'), {
    domain: 'contoso.com',
    user: 'gmsa-user',
    password: 'p:a\\ss',
  });
});

test('values the plugin refuses are refused', () => {
  for (const bad of [
    'gmsa-user:pw',
    '\\user:pw',
    'contoso.com\\user',
    'contoso.com\\:pw',
    'con:toso\\user:pw',
    'contoso.com\\user:',
  ]) {
    assert.equal(parseCcgSecret(bad), undefined, bad);
  }
});

test('what the product writes is what the plugin reads back, colons and backslashes in the password included', () => {
  const secret = { domain: 'contoso.com', user: 'gmsa-webapp01', password: 'a:b\\c::d' };
  const value = formatCcgSecret(secret);
  assert.equal(value, 'contoso.com\\gmsa-webapp01:a:b\\c::d');
  assert.deepEqual(parseCcgSecret(value), secret);
});

test('RDN values are escaped per RFC 4514', () => {
  assert.equal(escapeDnValue('plain-name'), 'plain-name');
  assert.equal(escapeDnValue('a,b+c"d\\e<f>g;h=i'), 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i');
  assert.equal(escapeDnValue('#lead'), '\\#lead');
  assert.equal(escapeDnValue(' both '), '\\ both\\ ');
});
