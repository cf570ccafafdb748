import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readActiveDirectoryConfig } from '../../worker/config/active-directory.js';
import { adLabFromEnv } from '../support/ad-lab.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ad-config-'));
const caFile = path.join(dir, 'ca.pem');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const passwordFile = path.join(dir, 'bind-password');
writeFileSync(passwordFile, ' secret with spaces \n');
const base = { AD_URL: 'ldaps://dc1.contoso.com', AD_BIND_USER: 'admin@contoso.com', AD_BIND_PASSWORD: 'pw' };

test('no AD_URL: no AD configuration', () => {
  assert.equal(readActiveDirectoryConfig({}), undefined);
  assert.equal(readActiveDirectoryConfig({ AD_URL: '  ' }), undefined);
});

test('reads every setting; the password file keeps inner and edge spaces, drops the final newline', () => {
  const config = readActiveDirectoryConfig({
    AD_URL: 'ldap://10.0.0.4:389',
    AD_BIND_USER: 'CONTOSO\\admin',
    AD_BIND_PASSWORD_FILE: passwordFile,
    AD_CA_FILE: caFile,
    AD_SERVER_NAME: 'dc1.contoso.com',
    AD_USER_CONTAINER: 'OU=Service Accounts,OU=Corp',
    AD_MAX_CONNECTING: '4',
  });
  assert.deepEqual(config, {
    url: 'ldap://10.0.0.4:389',
    bindUser: 'CONTOSO\\admin',
    bindPassword: ' secret with spaces ',
    caFile,
    serverName: 'dc1.contoso.com',
    userContainer: 'OU=Service Accounts,OU=Corp',
    maxConnecting: 4,
  });
});

test('a bad or missing value fails with the variable name', () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ ...base, AD_URL: 'https://dc1' }, /^Error: AD_URL: must start with ldaps:\/\//],
    [{ ...base, AD_URL: 'ldaps://dc1/DC=x' }, /^Error: AD_URL: give only scheme, host and port/],
    [{ ...base, AD_URL: 'not a url' }, /^Error: AD_URL: not a URL/],
    [{ ...base, AD_BIND_USER: '' }, /^Error: AD_BIND_USER: required/],
    [{ ...base, AD_BIND_PASSWORD: '' }, /^Error: AD_BIND_PASSWORD or AD_BIND_PASSWORD_FILE: required/],
    [{ ...base, AD_BIND_PASSWORD_FILE: passwordFile }, /^Error: AD_BIND_PASSWORD and AD_BIND_PASSWORD_FILE: set one/],
    [
      { ...base, AD_BIND_PASSWORD: undefined, AD_BIND_PASSWORD_FILE: '/nonexistent' },
      /^Error: AD_BIND_PASSWORD_FILE: cannot read/,
    ],
    [{ ...base, AD_CA_FILE: '/nonexistent/ca.pem' }, /^Error: AD_CA_FILE: \/nonexistent\/ca\.pem does not exist/],
    [{ ...base, AD_CA_FILE: passwordFile }, /^Error: AD_CA_FILE: .* holds no PEM certificate/],
    [{ ...base, AD_SERVER_NAME: 'dc 1' }, /^Error: AD_SERVER_NAME: not a host name/],
    [{ ...base, AD_USER_CONTAINER: 'CN=Users,DC=contoso,DC=com' }, /^Error: AD_USER_CONTAINER: must be a DN relative/],
    [{ ...base, AD_MAX_CONNECTING: '0' }, /AD_MAX_CONNECTING: must be a whole number ≥ 1, got '0'/],
    [{ ...base, AD_MAX_CONNECTING: '2.5' }, /AD_MAX_CONNECTING: must be a whole number ≥ 1, got '2.5'/],
  ];
  for (const [env, message] of cases) assert.throws(() => readActiveDirectoryConfig(env), message);
});

test('no error message carries the bind password', () => {
  assert.throws(
    () => readActiveDirectoryConfig({ ...base, AD_BIND_PASSWORD: 'Sup3r-Secret', AD_CA_FILE: '/x' }),
    (err: Error) => !err.message.includes('Sup3r-Secret'),
  );
});

test('the integration tests fail, naming the setting, when the lab settings are not exported', () => {
  assert.throws(() => adLabFromEnv({}), /^Error: AD_URL is not set/);
  assert.throws(() => adLabFromEnv({ AD_URL: 'ldaps://x', AD_BIND_USER: 'u' }), /AD_CA_FILE is not set/);
  assert.throws(
    () => adLabFromEnv({ AD_URL: 'ldaps://x', AD_BIND_USER: 'u', AD_CA_FILE: caFile, AD_DOMAIN_FQDN: 'x.test' }),
    /AD_BIND_PASSWORD \(or AD_BIND_PASSWORD_FILE\) is not set/,
  );
});
