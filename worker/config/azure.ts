/**
 * Azure settings from the environment. Unset AZURE_SUBSCRIPTION_ID (and no other AZURE_* setting of ours) means
 * "Azure not configured": the Azure steps then fail as not configured. A bad value stops the worker, naming the
 * variable.
 */
import { readFileSync } from 'node:fs';
import type { AzureConnection } from '../../activities/azure/connect.js';
import { ConfigError, optional, required } from '../../config/env.js';

export type AzureConfig = AzureConnection;

const CLOUDS: Record<string, { arm: string; authority: string }> = {
  AzurePublicCloud: { arm: 'https://management.azure.com', authority: 'https://login.microsoftonline.com' },
  AzureChinaCloud: { arm: 'https://management.chinacloudapi.cn', authority: 'https://login.chinacloudapi.cn' },
  AzureUSGovernment: { arm: 'https://management.usgovcloudapi.net', authority: 'https://login.microsoftonline.us' },
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Settings that only make sense with Azure configured: one of them without a subscription is a mistake. */
const OURS = ['AZURE_LAB', 'AZURE_ARM_ENDPOINT', 'AZURE_CLOUD', 'AZURE_CA_FILE', 'AZURE_POLL_INTERVAL_MS'];

function httpsUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = optional(env, name);
  if (v === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ConfigError(name, `must be a URL, got '${v}'`);
  }
  if (url.protocol !== 'https:')
    throw new ConfigError(name, 'must be an https URL (Azure sends bearer tokens over TLS only)');
  return v.replace(/\/+$/, '');
}

function count(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = optional(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(name, `must be a whole number ≥ 0, got '${v}'`);
  return n;
}

export function readAzureConfig(env: NodeJS.ProcessEnv = process.env): AzureConfig | undefined {
  const subscriptionId = optional(env, 'AZURE_SUBSCRIPTION_ID');
  if (!subscriptionId) {
    const stray = OURS.find((n) => optional(env, n) !== undefined);
    if (stray) throw new ConfigError('AZURE_SUBSCRIPTION_ID', `is required when ${stray} is set`);
    return undefined;
  }
  if (!GUID.test(subscriptionId)) throw new ConfigError('AZURE_SUBSCRIPTION_ID', 'must be a subscription id (GUID)');

  const cloudName = optional(env, 'AZURE_CLOUD') ?? 'AzurePublicCloud';
  const cloud = CLOUDS[cloudName];
  if (!cloud) throw new ConfigError('AZURE_CLOUD', `must be one of ${Object.keys(CLOUDS).join(', ')}`);
  const armEndpoint = httpsUrl(env, 'AZURE_ARM_ENDPOINT') ?? cloud.arm;
  const armAudience = httpsUrl(env, 'AZURE_ARM_AUDIENCE') ?? armEndpoint;
  const authorityHost = httpsUrl(env, 'AZURE_AUTHORITY_HOST') ?? cloud.authority;

  const labFlag = optional(env, 'AZURE_LAB') ?? '0';
  if (!['0', '1', 'true', 'false'].includes(labFlag)) throw new ConfigError('AZURE_LAB', "must be '1' or '0'");
  const lab = labFlag === '1' || labFlag === 'true';

  const caFile = optional(env, 'AZURE_CA_FILE');
  let caPem: string | undefined;
  if (caFile) {
    try {
      caPem = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new ConfigError('AZURE_CA_FILE', `cannot be read: ${(e as Error).message}`);
    }
    if (!caPem.includes('BEGIN CERTIFICATE')) throw new ConfigError('AZURE_CA_FILE', 'is not a PEM certificate file');
  }

  const tenantId = optional(env, 'AZURE_TENANT_ID');
  if (tenantId && !GUID.test(tenantId) && !/^[a-z0-9.-]+$/i.test(tenantId)) {
    throw new ConfigError('AZURE_TENANT_ID', 'must be a tenant id (GUID) or domain');
  }
  // The lab signs in as its service principal explicitly; elsewhere DefaultAzureCredential reads the standard
  // variables itself (AZURE_CLIENT_ID/SECRET, a workload identity token, or the managed identity AZURE_CLIENT_ID names).
  const credential: AzureConfig['credential'] = lab
    ? {
        kind: 'clientSecret',
        tenantId: required(env, 'AZURE_TENANT_ID', 'the lab tenant'),
        clientId: required(env, 'AZURE_CLIENT_ID', 'the lab service principal'),
        clientSecret: required(env, 'AZURE_CLIENT_SECRET', 'the lab service principal secret'),
      }
    : { kind: 'default', tenantId };

  return {
    subscriptionId,
    armEndpoint,
    armAudience,
    authorityHost,
    credential,
    caPem,
    lab,
    pollIntervalMs: count(env, 'AZURE_POLL_INTERVAL_MS'),
    maxRetries: count(env, 'AZURE_MAX_RETRIES'),
  };
}
