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
import { setTimeout as delay } from 'node:timers/promises';
import type { ClusterRef } from '../../contract/activities.js';
import { transient } from '../../contract/errors.js';
import type { LifecycleActivities } from '../../contract/lifecycle.js';
import { activityContext, beat } from '../keep-alive.js';
import type { AzureClients } from './clients.js';
import { azureCall, azureFailure, codeOf, retryAfterMs, statusOf } from './errors.js';
import { resumableOperation, type LroHeartbeat } from './poll.js';

type ClusterCoordinates = Pick<ClusterRef, 'subscriptionId' | 'resourceGroup' | 'name'>;
const label = (c: ClusterCoordinates) => `cluster ${c.resourceGroup}/${c.name}`;

/** provisioningState values of a managed cluster with an operation under way (the REST spec's enum). */
const RUNNING = /^(Creating|Updating|Upgrading|Deleting|Starting|Stopping|Scaling|Migrating|Canceling)$/i;
/** Ends that leave the cluster short of its goal: its profile may say off while the nodes still have gMSA. */
const FAILED = /^(Failed|Canceled)$/i;
/** As confirmAksGmsa reads a busy cluster: every 10 s (ARM's read budget), jittered, unless the connection says. */
const CLUSTER_POLL_MS = 10_000;
const jitter = (ms: number) => Math.round(ms * (0.8 + 0.4 * Math.random()));

export function createClusterGmsaActivities(clients: AzureClients): Pick<LifecycleActivities, 'disableClusterGmsa'> {
  const getCluster = (c: ClusterCoordinates) =>
    azureCall(
      `get ${label(c)}`,
      () => clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name),
      'check the subscription, resource group and cluster name, and that the worker identity may read the cluster',
    );

  /** The cluster once no operation runs on it (a PUT meanwhile is refused with 409 OperationNotAllowed). */
  async function settled(cluster: ClusterCoordinates): Promise<ManagedCluster> {
    const ctx = activityContext();
    let current = await getCluster(cluster);
    for (let polls = 1; RUNNING.test(current.provisioningState ?? ''); polls++) {
      const state = String(current.provisioningState);
      beat({
        waitingFor: `${label(cluster)} to end its running operation (provisioningState ${state})`,
        status: state,
        polls,
      } satisfies LroHeartbeat);
      const ms = jitter(clients.pollIntervalMs ?? CLUSTER_POLL_MS);
      await (ctx ? ctx.sleep(ms) : delay(ms));
      current = await getCluster(cluster);
    }
    return current;
  }

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
