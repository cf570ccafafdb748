/** readAzureConfig: unconfigured, production defaults per cloud, the lab's explicit credential, bad values named. */
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readAzureConfig } from '../../../worker/config/azure.js';

const SUB = '00000000-0000-0000-0000-000000000000';

describe('readAzureConfig', () => {
  it('is undefined when Azure is not configured', () => {
    assert.equal(readAzureConfig({}), undefined);
  });

  it('uses DefaultAzureCredential and the public cloud by default, or the named cloud', () => {
    const pub = readAzureConfig({ AZURE_SUBSCRIPTION_ID: SUB });
    assert.equal(pub?.armEndpoint, 'https://management.azure.com');
    assert.equal(pub?.authorityHost, 'https://login.microsoftonline.com');
    assert.deepEqual(pub?.credential, { kind: 'default', tenantId: undefined });
    assert.equal(pub?.lab, false);
    const cn = readAzureConfig({ AZURE_SUBSCRIPTION_ID: SUB, AZURE_CLOUD: 'AzureChinaCloud' });
    assert.equal(cn?.armEndpoint, 'https://management.chinacloudapi.cn');
  });

  it('reads the lab settings: explicit client secret, endpoint, authority and CA', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'azcfg-'));
    const ca = path.join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const c = readAzureConfig({
      AZURE_SUBSCRIPTION_ID: SUB,
      AZURE_LAB: '1',
      AZURE_ARM_ENDPOINT: 'https://127.0.0.1:4443/',
      AZURE_AUTHORITY_HOST: 'https://127.0.0.1:4443',
      AZURE_TENANT_ID: '72f9a1b0-0000-4000-8000-00000000a2b1',
      AZURE_CLIENT_ID: 'c0ffee00-0000-4000-8000-00000000a2b1',
      AZURE_CLIENT_SECRET: 's3cret',
      AZURE_CA_FILE: ca,
    });
    assert.equal(c?.armEndpoint, 'https://127.0.0.1:4443');
    assert.equal(c?.credential.kind, 'clientSecret');
    assert.match(String(c?.caPem), /BEGIN CERTIFICATE/);
  });

  it('names the variable on a bad value', () => {
    const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ AZURE_SUBSCRIPTION_ID: 'nope' }, /^AZURE_SUBSCRIPTION_ID: /],
      [{ AZURE_SUBSCRIPTION_ID: SUB, AZURE_CLOUD: 'Mars' }, /^AZURE_CLOUD: /],
      [
        { AZURE_SUBSCRIPTION_ID: SUB, AZURE_ARM_ENDPOINT: 'http://127.0.0.1:1' },
        /^AZURE_ARM_ENDPOINT: must be an https URL/,
      ],
      [{ AZURE_SUBSCRIPTION_ID: SUB, AZURE_CA_FILE: '/nonexistent/ca.pem' }, /^AZURE_CA_FILE: cannot be read/],
      [{ AZURE_SUBSCRIPTION_ID: SUB, AZURE_LAB: '1' }, /^AZURE_TENANT_ID: is required/],
      [{ AZURE_SUBSCRIPTION_ID: SUB, AZURE_POLL_INTERVAL_MS: '-5' }, /^AZURE_POLL_INTERVAL_MS: /],
      [{ AZURE_LAB: '1' }, /^AZURE_SUBSCRIPTION_ID: is required when AZURE_LAB is set/],
    ];
    for (const [env, message] of bad) assert.throws(() => readAzureConfig(env), { name: 'ConfigError', message });
  });
});
