/**
 * disableClusterGmsa: turns Windows gMSA off on the managed cluster the way `az aks update --disable-windows-gmsa`
 * does (GET, windowsProfile.gmsaProfile = { enabled: false }, PUT the whole cluster as read, with If-Match on its
 * eTag), the mirror of confirmAksGmsa's enable. Deprovision calls it only with `disableGmsa: true` and no other
 * credential spec left on the cluster. Like the enable, it reimages the Windows nodes.
 *
 * Idempotent: a cluster with gMSA off (and settled) is left alone. AKS takes one write at a time, so a busy cluster
 * is waited for (heartbeating what it waits for), and a write that an earlier attempt sent is polled to its end
 * rather than sent again (resumableOperation).
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import type { ClusterRef } from '../../contract/activities.js';
import { transient } from '../../contract/errors.js';
import type { LifecycleActivities } from '../../contract/lifecycle.js';
import type { AzureClients } from './clients.js';
import { clusterLabel, clusterReader, FAILED, type ClusterCoordinates } from './cluster-state.js';
import { azureFailure, codeOf, retryAfterMs, statusOf } from './errors.js';
import { resumableOperation } from './poll.js';

const label = clusterLabel;

export function createClusterGmsaActivities(clients: AzureClients): Pick<LifecycleActivities, 'disableClusterGmsa'> {
  const reader = clusterReader(clients);
  const { getCluster } = reader;
  const settled = async (cluster: ClusterCoordinates) => reader.settled(cluster, await getCluster(cluster));

  async function disableClusterGmsa({ cluster }: { cluster: ClusterRef }): Promise<{ disabled: boolean }> {
    const what = `disable Windows gMSA on ${label(cluster)}`;
    try {
      let turnedOff = false;
      await resumableOperation(what, async (resumeFrom) => {
        const current = resumeFrom ? await getCluster(cluster) : await settled(cluster);
        const on = current.windowsProfile?.gmsaProfile?.enabled === true;
        const failed = FAILED.test(current.provisioningState ?? '');
        // Off and settled: nothing to do. A Failed cluster gets the PUT again (an update reconciles it).
        if (!resumeFrom && (!current.windowsProfile || (!on && !failed))) return done(current);
        const desired: ManagedCluster = {
          ...current,
          windowsProfile: { ...current.windowsProfile!, gmsaProfile: { enabled: false } },
        };
        turnedOff = on || failed || resumeFrom !== undefined;
        return clients
          .aks(cluster.subscriptionId)
          .managedClusters.beginCreateOrUpdate(cluster.resourceGroup, cluster.name, desired, {
            updateIntervalInMs: clients.pollIntervalMs,
            ...(resumeFrom ? { resumeFrom } : current.eTag ? { ifMatch: current.eTag } : {}),
          });
      });
      return { disabled: turnedOff };
    } catch (e) {
      if (statusOf(e) === 412) {
        // Nothing was written: the next attempt reads the cluster again and builds its PUT on the new state.
        throw transient(`${what}: the cluster changed since it was read (412); reading it again`);
      }
      if (statusOf(e) === 409 && codeOf(e) === 'OperationNotAllowed') {
        throw transient(
          `${what}: another operation runs on the cluster; the next attempt waits for it`,
          retryAfterMs(e),
        );
      }
      throw azureFailure(
        e,
        what,
        `or run it yourself: az aks update -g ${cluster.resourceGroup} -n ${cluster.name} --disable-windows-gmsa`,
      );
    }
  }

  return { disableClusterGmsa };
}

/** A poller that is already done: the cluster needed no write. */
function done(cluster: ManagedCluster) {
  return {
    onProgress: () => undefined,
    pollUntilDone: async () => cluster,
    toString: () => '',
  };
}
