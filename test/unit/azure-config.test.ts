/**
 * readAzureConfig and readAzureCredential: unconfigured, defaults per cloud, AZURE_CREDENTIAL required and each kind
 * with the settings it needs, bad values named; createAzureCredential builds the SDK class each kind names.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  ChainedTokenCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { createAzureCredential, type AzureConnection } from '../../activities/azure/connect.js';
import { readAzureConfig, readAzureCredential } from '../../worker/config/azure.js';

const SUB = '00000000-0000-0000-0000-000000000000';
const TENANT = '72f9a1b0-0000-4000-8000-00000000a2b1';
const CLIENT = 'c0ffee00-0000-4000-8000-00000000a2b1';
const dir = mkdtempSync(path.join(tmpdir(), 'azure-config-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const tokenFile = file('azure-identity-token', 'eyJhbGciOiJSUzI1NiJ9.e30.sig');

describe('readAzureConfig', () => {
  it('is undefined when Azure is not configured', () => {
    assert.equal(readAzureConfig({}), undefined);
  });

  it('uses the public cloud by default, or the named cloud', () => {
    const pub = readAzureConfig({ AZURE_SUBSCRIPTION_ID: SUB, AZURE_CREDENTIAL: 'managed-identity' });
    assert.equal(pub?.armEndpoint, 'https://management.azure.com');
    assert.equal(pub?.authorityHost, 'https://login.microsoftonline.com');
    assert.equal(pub?.lab, false);
    const cn = readAzureConfig({
      AZURE_SUBSCRIPTION_ID: SUB,
      AZURE_CREDENTIAL: 'managed-identity',
      AZURE_CLOUD: 'AzureChinaCloud',
    });
    assert.equal(cn?.armEndpoint, 'https://management.chinacloudapi.cn');
    assert.equal(cn?.authorityHost, 'https://login.chinacloudapi.cn');
  });

  it('reads the lab settings: client secret, endpoint, authority and CA', () => {
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const c = readAzureConfig({
      AZURE_SUBSCRIPTION_ID: SUB,
      AZURE_LAB: '1',
      AZURE_CREDENTIAL: 'client-secret',
      AZURE_ARM_ENDPOINT: 'https://127.0.0.1:4443/',
      AZURE_AUTHORITY_HOST: 'https://127.0.0.1:4443',
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_SECRET: 's3cret',
      AZURE_CA_FILE: ca,
    });
    assert.equal(c?.armEndpoint, 'https://127.0.0.1:4443');
    assert.deepEqual(c?.credential, {
      kind: 'client-secret',
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: 's3cret',
    });
    assert.equal(c?.lab, true);
    assert.match(String(c?.caPem), /BEGIN CERTIFICATE/);
  });

  it('names the variable on a bad value', () => {
    const ok = { AZURE_SUBSCRIPTION_ID: SUB, AZURE_CREDENTIAL: 'managed-identity' };
    const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ ...ok, AZURE_SUBSCRIPTION_ID: 'nope' }, /^AZURE_SUBSCRIPTION_ID: /],
      [{ ...ok, AZURE_CLOUD: 'Mars' }, /^AZURE_CLOUD: /],
      [{ ...ok, AZURE_ARM_ENDPOINT: 'http://127.0.0.1:1' }, /^AZURE_ARM_ENDPOINT: must be an https URL/],
      [{ ...ok, AZURE_CA_FILE: path.join(dir, 'missing.pem') }, /^AZURE_CA_FILE: cannot be read/],
      [{ ...ok, AZURE_POLL_INTERVAL_MS: '-5' }, /^AZURE_POLL_INTERVAL_MS: /],
      [{ AZURE_LAB: '1' }, /^AZURE_SUBSCRIPTION_ID: is required when AZURE_LAB is set/],
      [{ AZURE_CREDENTIAL: 'client-secret' }, /^AZURE_SUBSCRIPTION_ID: is required when AZURE_CREDENTIAL is set/],
    ];
    for (const [env, message] of bad) assert.throws(() => readAzureConfig(env), { name: 'ConfigError', message });
  });
});

describe('AZURE_CREDENTIAL', () => {
  it('is required with a subscription: the message names the variable and every choice', () => {
    for (const env of [{ AZURE_SUBSCRIPTION_ID: SUB }, { AZURE_SUBSCRIPTION_ID: SUB, AZURE_CREDENTIAL: 'default' }]) {
      assert.throws(
        () => readAzureConfig(env),
        (e: Error) => {
          assert.equal(e.name, 'ConfigError');
          assert.match(e.message, /^AZURE_CREDENTIAL: /);
          for (const kind of ['workload-identity', 'managed-identity', 'client-secret', 'developer'])
            assert.ok(e.message.includes(kind), `names ${kind}: ${e.message}`);
          return true;
        },
      );
    }
  });

  it('workload-identity takes what AKS injects, and names what is missing', () => {
    const env = {
      AZURE_CREDENTIAL: 'workload-identity',
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
    };
    assert.deepEqual(readAzureCredential(env), {
      kind: 'workload-identity',
      tenantId: TENANT,
      clientId: CLIENT,
      tokenFilePath: tokenFile,
    });
    for (const name of ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_FEDERATED_TOKEN_FILE'] as const) {
      const { [name]: _gone, ...rest } = env;
      assert.throws(() => readAzureCredential(rest), {
        name: 'ConfigError',
        message: new RegExp(`^${name}: is required \\(set by AKS workload identity`),
      });
    }
    assert.throws(() => readAzureCredential({ ...env, AZURE_FEDERATED_TOKEN_FILE: path.join(dir, 'no-token') }), {
      message: /^AZURE_FEDERATED_TOKEN_FILE: .*no-token does not exist/,
    });
  });

  it('managed-identity: system-assigned, or the user-assigned one AZURE_CLIENT_ID names', () => {
    assert.deepEqual(readAzureCredential({ AZURE_CREDENTIAL: 'managed-identity' }), { kind: 'managed-identity' });
    assert.deepEqual(readAzureCredential({ AZURE_CREDENTIAL: 'managed-identity', AZURE_CLIENT_ID: CLIENT }), {
      kind: 'managed-identity',
      clientId: CLIENT,
    });
    assert.throws(() => readAzureCredential({ AZURE_CREDENTIAL: 'managed-identity', AZURE_CLIENT_ID: 'mine' }), {
      message: /^AZURE_CLIENT_ID: must be an application \(client\) id/,
    });
  });

  it('client-secret: inline or from a file (its final newline dropped), one of them, never neither', () => {
    const sp = { AZURE_CREDENTIAL: 'client-secret', AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT };
    const fromFile = readAzureCredential({ ...sp, AZURE_CLIENT_SECRET_FILE: file('sp-secret', ' s3 cret \n') });
    assert.deepEqual(fromFile, {
      kind: 'client-secret',
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: ' s3 cret ',
    });
    const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [sp, /^AZURE_CLIENT_SECRET: is required with client-secret/],
      [
        { ...sp, AZURE_CLIENT_SECRET: 'a', AZURE_CLIENT_SECRET_FILE: tokenFile },
        /^AZURE_CLIENT_SECRET_FILE: cannot be/,
      ],
      [{ ...sp, AZURE_CLIENT_SECRET_FILE: path.join(dir, 'nope') }, /^AZURE_CLIENT_SECRET_FILE: cannot be read/],
      [{ ...sp, AZURE_CLIENT_SECRET_FILE: file('empty', '\n') }, /^AZURE_CLIENT_SECRET_FILE: .* is empty/],
      [{ ...sp, AZURE_TENANT_ID: '', AZURE_CLIENT_SECRET: 'a' }, /^AZURE_TENANT_ID: is required/],
      [{ ...sp, AZURE_CLIENT_ID: '', AZURE_CLIENT_SECRET: 'a' }, /^AZURE_CLIENT_ID: is required/],
      [{ ...sp, AZURE_TENANT_ID: 'not a tenant!', AZURE_CLIENT_SECRET: 'a' }, /^AZURE_TENANT_ID: must be/],
    ];
    for (const [env, message] of bad) assert.throws(() => readAzureCredential(env), { name: 'ConfigError', message });
  });

  it('developer: an optional tenant', () => {
    assert.deepEqual(readAzureCredential({ AZURE_CREDENTIAL: 'developer' }), { kind: 'developer' });
    assert.deepEqual(readAzureCredential({ AZURE_CREDENTIAL: 'developer', AZURE_TENANT_ID: TENANT }), {
      kind: 'developer',
      tenantId: TENANT,
    });
  });

  it('refuses a client secret the chosen kind would not use, and any kind but client-secret in the lab', () => {
    for (const kind of ['workload-identity', 'managed-identity', 'developer']) {
      assert.throws(() => readAzureCredential({ AZURE_CREDENTIAL: kind, AZURE_CLIENT_SECRET: 'left-over' }), {
        message: new RegExp(`^AZURE_CLIENT_SECRET: is set but AZURE_CREDENTIAL is ${kind}`),
      });
      assert.throws(() => readAzureCredential({ AZURE_CREDENTIAL: kind }, true), {
        message: /^AZURE_CREDENTIAL: must be client-secret with AZURE_LAB=1/,
      });
    }
  });

  it('no message carries the secret', () => {
    const secret = 'Zz9-do-not-print-me';
    const cases: NodeJS.ProcessEnv[] = [
      { AZURE_CREDENTIAL: 'developer', AZURE_CLIENT_SECRET: secret },
      { AZURE_CREDENTIAL: 'client-secret', AZURE_CLIENT_SECRET: secret, AZURE_TENANT_ID: TENANT },
      { AZURE_CREDENTIAL: 'client-secret', AZURE_CLIENT_SECRET: secret, AZURE_CLIENT_SECRET_FILE: tokenFile },
    ];
    for (const env of cases) {
      assert.throws(
        () => readAzureCredential(env),
        (e: Error) => !e.message.includes(secret),
      );
    }
  });
});

describe('createAzureCredential', () => {
  const connection = (credential: AzureConnection['credential']): AzureConnection => ({
    subscriptionId: SUB,
    armEndpoint: 'https://management.azure.com',
    armAudience: 'https://management.azure.com',
    authorityHost: 'https://login.microsoftonline.com',
    credential,
    lab: false,
  });

  it('builds the one SDK credential each kind names (no probing chain in production)', () => {
    const built: Array<[AzureConnection['credential'], new (...args: never[]) => unknown]> = [
      [
        { kind: 'workload-identity', tenantId: TENANT, clientId: CLIENT, tokenFilePath: tokenFile },
        WorkloadIdentityCredential,
      ],
      [{ kind: 'managed-identity', clientId: CLIENT }, ManagedIdentityCredential],
      [{ kind: 'client-secret', tenantId: TENANT, clientId: CLIENT, clientSecret: 'x' }, ClientSecretCredential],
      [{ kind: 'developer' }, ChainedTokenCredential],
    ];
    for (const [settings, cls] of built) {
      const credential = createAzureCredential(connection(settings));
      assert.ok(credential instanceof cls, `${settings.kind} → ${cls.name}, got ${credential.constructor.name}`);
    }
  });
});
