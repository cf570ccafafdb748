/**
 * Doubles of InspectionActivities (contract/inspection.ts), derived from the input as lab/activity-doubles.ts
 * derives its results: the cluster has the Linux system pool `nodepool1` and the named Windows pools (`win1` when
 * none are named), each Windows scale set carrying only the kubelet identity (so a repair over these doubles sees
 * the host identity missing); the vault is an RBAC one that no one may read. Tests override them for other worlds.
 */
import { createHash } from 'node:crypto';
import type { InspectionActivities } from '../../contract/inspection.js';
import type { DoublesOf } from './day-two.js';

const guidOf = (text: string) => {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

export const INSPECTION_DOUBLES: DoublesOf<InspectionActivities> = {
  inspectCluster: ({ cluster: c }) => {
    const clusterId = `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${c.name}`;
    const nodeResourceGroup = `MC_${c.resourceGroup}_${c.name}_westeurope`;
    const kubelet = {
      objectId: guidOf(`kubelet-object:${clusterId}`),
      clientId: guidOf(`kubelet-client:${clusterId}`),
      resourceId: `/subscriptions/${c.subscriptionId}/resourceGroups/${nodeResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${c.name}-agentpool`,
    };
    const onScaleSet = {
      identities: [kubelet.resourceId],
      identityPrincipals: { [kubelet.resourceId]: kubelet.objectId },
    };
    return {
      clusterId,
      nodeResourceGroup,
      gmsaEnabled: true,
      provisioningState: 'Succeeded',
      kubeletIdentity: kubelet,
      pools: [
        {
          name: 'nodepool1',
          osType: 'Linux',
          osSku: 'Ubuntu',
          mode: 'System',
          scaleSet: 'aks-nodepool1-12345678-vmss',
          ...onScaleSet,
        },
        ...(c.windowsNodePools ?? ['win1']).map((p) => ({
          name: p,
          osType: 'Windows' as const,
          osSku: 'Windows2022',
          mode: 'User',
          scaleSet: `aks-${p}-12345678-vmss`,
          ...onScaleSet,
        })),
      ],
    };
  },
  listSecretReaders: ({ vault }) => ({
    accessModel: 'rbac',
    vaultId: `/subscriptions/${vault.subscriptionId}/resourceGroups/${vault.resourceGroup}/providers/Microsoft.KeyVault/vaults/${vault.name}`,
    readers: [],
    workerPrincipalId: guidOf('worker'),
  }),
};
