/**
 * Read-only facts about a binding's Azure side, for repair, access, validation and the sample workload: the
 * cluster's node pools (with their OS SKU and scale set's user-assigned identities) and who may read a Key Vault
 * secret. Nothing here writes, and nothing carries a secret's value.
 */
import type { AzureResourceRef, ClusterRef } from './activities.js';

export type { AccessReport, PoolAccess, PrincipalAccess, PoolStatus } from '../domain/access-report.js';

export interface PoolFacts {
  name: string;
  osType: 'Windows' | 'Linux';
  /** AKS's osSKU, e.g. Windows2022, Windows2025, Ubuntu. */
  osSku?: string;
  /** AKS's pool mode: System or User. */
  mode?: string;
  /** The pool's scale set in the node resource group, when found (by AKS's pool tag, else AKS's names). */
  scaleSet?: string;
  /** Resource ids of the user-assigned identities on that scale set, as Azure spells them. */
  identities: string[];
  /** The principal (object) id of each of those identities, by resource id, as the scale set reports it. */
  identityPrincipals?: Record<string, string>;
}

export interface ClusterFacts {
  clusterId: string;
  nodeResourceGroup: string;
  gmsaEnabled: boolean;
  provisioningState: string;
  kubeletIdentity?: { objectId: string; clientId: string; resourceId: string };
  pools: PoolFacts[];
}

export interface InspectClusterInput {
  /** Only the coordinates are read; windowsNodePools is not needed (every pool of the cluster is reported). */
  cluster: Pick<ClusterRef, 'subscriptionId' | 'resourceGroup' | 'name'> &
    Partial<Pick<ClusterRef, 'windowsNodePools'>>;
}

export interface SecretReaderEntry {
  principalId: string;
  via: 'accessPolicy' | 'roleAssignment';
  /** The vault, or the secret, the grant covers (a role assignment's scope may be above the vault too). */
  scope: string;
  /** Secret permissions the grant gives (Key Vault's names: get, list, set, ...). */
  permissions: string[];
  /** True when the grant lets the principal read the secret's value (`get`, or `all` in a policy). */
  readsValue: boolean;
  /** The role's name (role assignments only), e.g. "Key Vault Secrets User". */
  role?: string;
  /** The role assignment's resource id (role assignments only). */
  assignmentId?: string;
  /** The role assignment's principalType (role assignments only). */
  principalType?: string;
}

export interface ListSecretReadersInput {
  vault: AzureResourceRef;
  secretName: string;
}

export interface ListSecretReadersResult {
  accessModel: 'accessPolicy' | 'rbac';
  /** The vault's resource id. */
  vaultId: string;
  readers: SecretReaderEntry[];
  /** The worker's own principal (the ARM caller): it writes the secret, so its grant is expected. */
  workerPrincipalId: string;
}

export interface InspectionActivities {
  inspectCluster(input: InspectClusterInput): Promise<ClusterFacts>;
  listSecretReaders(input: ListSecretReadersInput): Promise<ListSecretReadersResult>;
}
