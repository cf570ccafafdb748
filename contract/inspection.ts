/**
 * Read-only facts about a binding's Azure side, for repair, access, validation and the sample workload: the
 * cluster's node pools (Windows ones with their OS SKU and scale set's user-assigned identities) and who may read a
 * Key Vault secret. DRAFT by the contract author: the repair/access work refines these types in this file.
 */
import type { AzureResourceRef, ClusterRef } from './activities.js';

export interface PoolFacts {
  name: string;
  osType: 'Windows' | 'Linux';
  /** AKS's osSKU, e.g. Windows2022, Windows2025, Ubuntu. */
  osSku?: string;
  /** The pool's scale set in the node resource group, when found. */
  scaleSet?: string;
  /** Resource ids of the user-assigned identities on that scale set. */
  identities: string[];
}

export interface ClusterFacts {
  clusterId: string;
  nodeResourceGroup: string;
  gmsaEnabled: boolean;
  provisioningState: string;
  kubeletIdentity?: { objectId: string; clientId: string; resourceId: string };
  pools: PoolFacts[];
}

export interface SecretReaderEntry {
  principalId: string;
  via: 'accessPolicy' | 'roleAssignment';
  /** The vault, or the secret, the grant covers. */
  scope: string;
  permissions: string[];
}

export interface InspectionActivities {
  inspectCluster(input: { cluster: ClusterRef }): Promise<ClusterFacts>;
  listSecretReaders(input: { vault: AzureResourceRef; secretName: string }): Promise<{
    accessModel: 'accessPolicy' | 'rbac';
    readers: SecretReaderEntry[];
  }>;
}
