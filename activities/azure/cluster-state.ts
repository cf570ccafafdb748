/**
 * Reading a managed cluster and waiting while it is busy, for every activity that writes one (confirmAksGmsa
 * enables gMSA, disableClusterGmsa turns it off). AKS takes one write at a time: a PUT while an operation runs is
 * refused with 409 OperationNotAllowed ("Troubleshoot OperationNotAllowed errors"), and only a settled cluster says
 * whether its profile is in force.
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import { setTimeout as delay } from 'node:timers/promises';
import type { ClusterRef } from '../../contract/activities.js';
import { activityContext, beat } from '../keep-alive.js';
import type { AzureClients } from './clients.js';
import { azureCall } from './errors.js';
import type { LroHeartbeat } from './poll.js';

export type ClusterCoordinates = Pick<ClusterRef, 'subscriptionId' | 'resourceGroup' | 'name'>;
export const clusterLabel = (c: ClusterCoordinates) => `cluster ${c.resourceGroup}/${c.name}`;

/** provisioningState values of a managed cluster with an operation under way (the REST spec's enum). */
export const RUNNING = /^(Creating|Updating|Upgrading|Deleting|Starting|Stopping|Scaling|Migrating|Canceling)$/i;
/** Ends of an operation that leave the cluster short of its goal: an update with no change reconciles them. */
export const FAILED = /^(Failed|Canceled)$/i;

/**
 * How often a wait for a busy cluster reads it, unless the connection sets pollIntervalMs: every binding on the
 * cluster waits the same way, and ARM refills a principal's read budget at 25 per second (request-limits-and-
 * throttling), so 200 waiters at 10 s stay well inside it. Jittered, so that they do not read in step.
 */
const CLUSTER_POLL_MS = 10_000;
const jitter = (ms: number) => Math.round(ms * (0.8 + 0.4 * Math.random()));

export function clusterReader(clients: AzureClients) {
  const getCluster = (c: ClusterCoordinates): Promise<ManagedCluster> =>
    azureCall(
      `get ${clusterLabel(c)}`,
      () => clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name),
      'check the subscription, resource group and cluster name, and that the worker identity may read the cluster',
    );

  /**
   * The cluster once no operation runs on it: polls GET, heartbeating what it waits for (with `operations`, the
   * resumable poller states the heartbeat must keep); a cancellation ends the wait.
   */
  async function settled(
    cluster: ClusterCoordinates,
    first: ManagedCluster,
    operations?: Record<string, string>,
  ): Promise<ManagedCluster> {
    const ctx = activityContext();
    let current = first;
    for (let polls = 1; RUNNING.test(current.provisioningState ?? ''); polls++) {
      const state = String(current.provisioningState);
      beat({
        waitingFor: `${clusterLabel(cluster)} to end its running operation (provisioningState ${state})`,
        status: state,
        polls,
        ...(operations ? { operations } : {}),
      } satisfies LroHeartbeat);
      const ms = jitter(clients.pollIntervalMs ?? CLUSTER_POLL_MS);
      await (ctx ? ctx.sleep(ms) : delay(ms));
      current = await getCluster(cluster);
    }
    return current;
  }

  return { getCluster, settled };
}
