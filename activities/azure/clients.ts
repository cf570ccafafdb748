/**
 * The Azure SDK clients the activities use, built over one injected TokenCredential (Azure SDK sample style) and
 * cached per subscription and per vault (the most recently used ones). Real Azure and the lab differ only in
 * endpoint, authority and CA.
 */
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ComputeManagementClient } from '@azure/arm-compute';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { TokenCredential } from '@azure/core-auth';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import { keepRecent } from '../../domain/recent-map.js';

export interface AzureClientOptions {
  /** ARM endpoint without a trailing slash, e.g. https://management.azure.com. */
  armEndpoint: string;
  /** The token audience of ARM (the endpoint for public cloud; sovereign clouds differ). */
  armAudience?: string;
  /** Extra CA (PEM) to trust besides the system roots: the lab's, or a proxy's. */
  caPem?: string;
  /** SDK-level retries before an error reaches the activity (default 3, which honours short Retry-After). */
  maxRetries?: number;
  /** Key Vault checks that a challenge's resource matches the vault host; loopback vaults cannot pass it. */
  disableChallengeResourceVerification?: boolean;
  /** Long-running operation poll interval; the server's Retry-After wins when it sends one. */
  pollIntervalMs?: number;
}

export interface CallerIdentity {
  objectId: string;
  tenantId: string;
  principalType: 'ServicePrincipal' | 'User';
}

export interface AzureClients {
  aks(subscriptionId: string): ContainerServiceClient;
  compute(subscriptionId: string): ComputeManagementClient;
  msi(subscriptionId: string): ManagedServiceIdentityClient;
  keyVault(subscriptionId: string): KeyVaultManagementClient;
  authorization(subscriptionId: string): AuthorizationManagementClient;
  secrets(vaultUri: string): SecretClient;
  /** Who the credential is (object id and tenant from its ARM token): vault access for the caller needs both. */
  caller(): Promise<CallerIdentity>;
  pollIntervalMs?: number;
}

/** An Azure SDK pipeline policy (named through a direct dependency; the pipeline package is a transitive one). */
type PipelinePolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number]['policy'];

const agents = new Map<string, Agent>();

/**
 * Vault clients kept: a worker meets a new vault with nearly every binding, and a long-lived one would otherwise
 * keep a client (its pipeline and token cache) for every vault it ever wrote to. The sockets are the shared agent's.
 */
export const MAX_CACHED_VAULT_CLIENTS = 64;

/**
 * A policy that sends every request through one keep-alive agent trusting the system roots plus `caPem`. One
 * secure context for all clients: building one per connection (what tlsOptions does) costs tens of ms each.
 */
function trustPolicy(caPem: string): PipelinePolicy {
  let agent = agents.get(caPem);
  if (!agent) {
    agent = new Agent({ keepAlive: true, secureContext: createSecureContext({ ca: [...rootCertificates, caPem] }) });
    agents.set(caPem, agent);
  }
  const shared = agent;
  return {
    name: 'trustExtraCa',
    sendRequest(request, next) {
      request.agent = shared;
      return next(request);
    },
  };
}

/** Pipeline options every client shares (ARM, Key Vault and the credential itself): TLS trust and retry budget. */
export function pipelineOptions(o: Pick<AzureClientOptions, 'caPem' | 'maxRetries'>) {
  return {
    ...(o.caPem ? { additionalPolicies: [{ policy: trustPolicy(o.caPem), position: 'perCall' as const }] } : {}),
    retryOptions: { maxRetries: o.maxRetries ?? 3 },
  };
}

export function createAzureClients(credential: TokenCredential, o: AzureClientOptions): AzureClients {
  const endpoint = o.armEndpoint.replace(/\/+$/, '');
  const audience = (o.armAudience ?? endpoint).replace(/\/+$/, '');
  const common = {
    ...pipelineOptions(o),
    endpoint,
    $host: endpoint,
    credentialScopes: [`${audience}/.default`],
  };
  const cache = new Map<string, unknown>();
  const once = <T>(k: string, make: () => T): T => {
    if (!cache.has(k)) cache.set(k, make());
    return cache.get(k) as T;
  };
  const vaults = new Map<string, SecretClient>();
  const vaultClient = (vaultUri: string): SecretClient => {
    const client =
      vaults.get(vaultUri) ??
      new SecretClient(vaultUri, credential, {
        ...pipelineOptions(o),
        disableChallengeResourceVerification: o.disableChallengeResourceVerification ?? false,
      });
    keepRecent(vaults, vaultUri, client, MAX_CACHED_VAULT_CLIENTS);
    return client;
  };
  return {
    aks: (sub) => once(`aks:${sub}`, () => new ContainerServiceClient(credential, sub, common)),
    compute: (sub) => once(`compute:${sub}`, () => new ComputeManagementClient(credential, sub, common)),
    msi: (sub) => once(`msi:${sub}`, () => new ManagedServiceIdentityClient(credential, sub, common)),
    keyVault: (sub) =>
      once(
        `kv:${sub}`,
        () =>
          new KeyVaultManagementClient(credential, sub, {
            ...common,
            credentials: { scopes: common.credentialScopes },
          }),
      ),
    authorization: (sub) => once(`authz:${sub}`, () => new AuthorizationManagementClient(credential, sub, common)),
    secrets: vaultClient,
    caller: async () => {
      const token = await credential.getToken(common.credentialScopes);
      if (!token) throw new Error('the Azure credential returned no token');
      return tokenIdentity(token.token);
    },
    pollIntervalMs: o.pollIntervalMs,
  };
}

/** The object id and tenant in an Entra access token (a JWT); not verified: it is our own token. */
export function tokenIdentity(jwt: string): CallerIdentity {
  const payload = jwt.split('.')[1];
  const claims = payload
    ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>)
    : {};
  if (typeof claims.oid !== 'string' || typeof claims.tid !== 'string') {
    throw new Error('the Azure access token carries no oid/tid claim; cannot tell who the caller is');
  }
  const principalType = claims.idtyp === 'user' || typeof claims.upn === 'string' ? 'User' : 'ServicePrincipal';
  return { objectId: claims.oid, tenantId: claims.tid, principalType };
}
