/**
 * From settings to a credential and clients. The credential is the one AZURE_CREDENTIAL names, never a chain that
 * probes: Azure's guidance ("Authentication best practices with the Azure Identity library for JavaScript", "Use
 * deterministic credentials in production environments") reserves DefaultAzureCredential for development. The
 * lab uses ClientSecretCredential against the fake's token endpoint (instance discovery off because the authority
 * is not a Microsoft host).
 */
import type { TokenCredential } from '@azure/core-auth';
import {
  AzureCliCredential,
  AzureDeveloperCliCredential,
  AzurePowerShellCredential,
  ChainedTokenCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { createAzureClients, pipelineOptions, type AzureClients } from './clients.js';

/** The values of AZURE_CREDENTIAL, each one SDK credential class (the developer kind: the local sign-in tools). */
export const AZURE_CREDENTIAL_KINDS = ['workload-identity', 'managed-identity', 'client-secret', 'developer'] as const;
export type AzureCredentialKind = (typeof AZURE_CREDENTIAL_KINDS)[number];

export type AzureCredentialSettings =
  /** AKS workload identity: the webhook projects a service-account token into the pod and sets the file's path. */
  | { kind: 'workload-identity'; tenantId: string; clientId: string; tokenFilePath: string }
  /** The VM's or node pool's identity through IMDS; clientId picks a user-assigned one. */
  | { kind: 'managed-identity'; clientId?: string }
  | { kind: 'client-secret'; tenantId: string; clientId: string; clientSecret: string }
  /** Whoever is signed in to Azure CLI, Azure Developer CLI or Azure PowerShell on this machine, in that order. */
  | { kind: 'developer'; tenantId?: string };

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
  const cred = c.credential;
  switch (cred.kind) {
    case 'workload-identity':
      return new WorkloadIdentityCredential({
        ...common,
        tenantId: cred.tenantId,
        clientId: cred.clientId,
        tokenFilePath: cred.tokenFilePath,
      });
    case 'managed-identity':
      return new ManagedIdentityCredential({
        ...pipelineOptions(c),
        ...(cred.clientId && { clientId: cred.clientId }),
      });
    case 'client-secret':
      return new ClientSecretCredential(cred.tenantId, cred.clientId, cred.clientSecret, {
        ...common,
        disableInstanceDiscovery: c.lab,
      });
    case 'developer': {
      // The tools keep their own cloud and sign-in; only the tenant is ours to pick.
      const tenant = cred.tenantId ? { tenantId: cred.tenantId } : {};
      return new ChainedTokenCredential(
        new AzureCliCredential(tenant),
        new AzureDeveloperCliCredential(tenant),
        new AzurePowerShellCredential(tenant),
      );
    }
  }
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
