/**
 * From settings to a credential and clients. Production: DefaultAzureCredential (environment, workload identity,
 * managed identity, then developer logins). The lab: ClientSecretCredential against the fake's token endpoint
 * (a real @azure/identity class; instance discovery off because the authority is not a Microsoft host).
 */
import type { TokenCredential } from '@azure/core-auth';
import { ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';
import { createAzureClients, pipelineOptions, type AzureClients } from './clients.js';

export type AzureCredentialSettings =
  | { kind: 'default'; tenantId?: string }
  | { kind: 'clientSecret'; tenantId: string; clientId: string; clientSecret: string };

export interface AzureConnection {
  /** The default subscription (requests name their own; this one is for checks and tools). */
  subscriptionId: string;
  armEndpoint: string;
  armAudience: string;
  authorityHost: string;
  credential: AzureCredentialSettings;
  /** Extra trusted CA (PEM), e.g. the lab's. */
  caPem?: string;
  /** The local lab: loopback vault hosts cannot match Key Vault's challenge-resource check. */
  lab: boolean;
  pollIntervalMs?: number;
  maxRetries?: number;
}

export function createAzureCredential(c: AzureConnection): TokenCredential {
  const common = { authorityHost: c.authorityHost, ...pipelineOptions(c) };
  if (c.credential.kind === 'clientSecret') {
    const { tenantId, clientId, clientSecret } = c.credential;
    return new ClientSecretCredential(tenantId, clientId, clientSecret, { ...common, disableInstanceDiscovery: c.lab });
  }
  return new DefaultAzureCredential({
    ...common,
    ...(c.credential.tenantId ? { tenantId: c.credential.tenantId } : {}),
  });
}

export function connectAzure(
  c: AzureConnection,
  credential = createAzureCredential(c),
): { credential: TokenCredential; clients: AzureClients } {
  const clients = createAzureClients(credential, {
    armEndpoint: c.armEndpoint,
    armAudience: c.armAudience,
    caPem: c.caPem,
    maxRetries: c.maxRetries,
    pollIntervalMs: c.pollIntervalMs,
    disableChallengeResourceVerification: c.lab,
  });
  return { credential, clients };
}
