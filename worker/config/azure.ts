/**
 * Azure settings from the environment. Unset AZURE_SUBSCRIPTION_ID (and no other AZURE_* setting of ours) means
 * "Azure not configured": the Azure steps then fail as not configured. With it, AZURE_CREDENTIAL says how the
 * worker signs in; nothing is guessed. A bad or missing value stops the worker, naming the variable.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  AZURE_CREDENTIAL_KINDS,
  type AzureConnection,
  type AzureCredentialKind,
  type AzureCredentialSettings,
} from '../../activities/azure/connect.js';
import { ConfigError, optional, required, wholeNumber } from '../../config/env.js';

export type AzureConfig = AzureConnection;

const CLOUDS: Record<string, { arm: string; authority: string }> = {
  AzurePublicCloud: { arm: 'https://management.azure.com', authority: 'https://login.microsoftonline.com' },
  AzureChinaCloud: { arm: 'https://management.chinacloudapi.cn', authority: 'https://login.chinacloudapi.cn' },
  AzureUSGovernment: { arm: 'https://management.usgovcloudapi.net', authority: 'https://login.microsoftonline.us' },
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Settings that only make sense with Azure configured: one of them without a subscription is a mistake. */
const OURS = [
  'AZURE_CREDENTIAL',
  'AZURE_LAB',
  'AZURE_ARM_ENDPOINT',
  'AZURE_CLOUD',
  'AZURE_CA_FILE',
  'AZURE_POLL_INTERVAL_MS',
];

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

  const credential = readAzureCredential(env, lab);

  return {
    subscriptionId,
    armEndpoint,
    armAudience,
    authorityHost,
    credential,
    caPem,
    lab,
    pollIntervalMs: wholeNumber(env, 'AZURE_POLL_INTERVAL_MS'),
    maxRetries: wholeNumber(env, 'AZURE_MAX_RETRIES'),
  };
}

const KIND_HELP: Record<AzureCredentialKind, string> = {
  'workload-identity': 'AKS workload identity',
  'managed-identity': 'the VM or node pool identity; AZURE_CLIENT_ID picks a user-assigned one',
  'client-secret': 'a service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET(_FILE)',
  developer: 'your Azure CLI, azd or Azure PowerShell sign-in; for development only',
};
const CHOICES = AZURE_CREDENTIAL_KINDS.map((k) => `${k} (${KIND_HELP[k]})`).join(', ');

function tenant(env: NodeJS.ProcessEnv, why?: string): string | undefined {
  const v = why ? required(env, 'AZURE_TENANT_ID', why) : optional(env, 'AZURE_TENANT_ID');
  if (v && !GUID.test(v) && !/^[a-z0-9.-]+$/i.test(v)) {
    throw new ConfigError('AZURE_TENANT_ID', 'must be a tenant id (GUID) or domain');
  }
  return v;
}

function clientId(env: NodeJS.ProcessEnv, why?: string): string | undefined {
  const v = why ? required(env, 'AZURE_CLIENT_ID', why) : optional(env, 'AZURE_CLIENT_ID');
  if (v && !GUID.test(v)) throw new ConfigError('AZURE_CLIENT_ID', 'must be an application (client) id (GUID)');
  return v;
}

/** The secret, inline or from a file (a mounted Kubernetes secret); not trimmed but for the file's final newline. */
function clientSecret(env: NodeJS.ProcessEnv): string {
  const inline = env.AZURE_CLIENT_SECRET;
  const file = optional(env, 'AZURE_CLIENT_SECRET_FILE');
  if (inline && file) throw new ConfigError('AZURE_CLIENT_SECRET_FILE', 'cannot be combined with AZURE_CLIENT_SECRET');
  if (!file) {
    if (!inline?.trim()) {
      throw new ConfigError('AZURE_CLIENT_SECRET', 'is required with client-secret (or AZURE_CLIENT_SECRET_FILE)');
    }
    return inline;
  }
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new ConfigError('AZURE_CLIENT_SECRET_FILE', `cannot be read: ${(e as Error).message}`);
  }
  if (!secret.trim()) throw new ConfigError('AZURE_CLIENT_SECRET_FILE', `${file} is empty`);
  return secret;
}

/** AZURE_CREDENTIAL and the settings its kind needs. */
export function readAzureCredential(env: NodeJS.ProcessEnv, lab = false): AzureCredentialSettings {
  const named = optional(env, 'AZURE_CREDENTIAL');
  if (named === undefined) {
    throw new ConfigError('AZURE_CREDENTIAL', `is required with AZURE_SUBSCRIPTION_ID; choose one of ${CHOICES}`);
  }
  const kind = AZURE_CREDENTIAL_KINDS.find((k) => k === named);
  if (!kind) throw new ConfigError('AZURE_CREDENTIAL', `must be one of ${CHOICES}; got '${named}'`);
  // The fake's token endpoint speaks the client-credentials grant with a secret only.
  if (lab && kind !== 'client-secret') {
    throw new ConfigError('AZURE_CREDENTIAL', `must be client-secret with AZURE_LAB=1; got '${kind}'`);
  }
  // A secret the chosen credential never uses is a mistake waiting to be relied on.
  if (kind !== 'client-secret') {
    const stray = ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_SECRET_FILE'].find((n) => optional(env, n) !== undefined);
    if (stray) throw new ConfigError(stray, `is set but AZURE_CREDENTIAL is ${kind}; unset it or choose client-secret`);
  }
  switch (kind) {
    case 'workload-identity': {
      // The AKS webhook injects all three into pods labelled azure.workload.identity/use=true.
      const injected = 'set by AKS workload identity: label the pod azure.workload.identity/use=true';
      const tokenFilePath = required(env, 'AZURE_FEDERATED_TOKEN_FILE', injected);
      if (!existsSync(tokenFilePath)) {
        throw new ConfigError('AZURE_FEDERATED_TOKEN_FILE', `${tokenFilePath} does not exist (${injected})`);
      }
      return {
        kind,
        tenantId: tenant(env, injected) as string,
        clientId: clientId(env, injected) as string,
        tokenFilePath,
      };
    }
    case 'managed-identity': {
      const id = clientId(env);
      return id ? { kind, clientId: id } : { kind };
    }
    case 'client-secret':
      return {
        kind,
        tenantId: tenant(env, "the service principal's tenant") as string,
        clientId: clientId(env, "the service principal's application id") as string,
        clientSecret: clientSecret(env),
      };
    case 'developer': {
      const t = tenant(env);
      return t ? { kind, tenantId: t } : { kind };
    }
  }
}
