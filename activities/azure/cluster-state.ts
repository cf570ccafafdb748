/**
 * Reading a managed cluster and waiting while it is busy, for every activity that writes one (confirmAksGmsa
 * enables gMSA, disableClusterGmsa turns it off). AKS takes one write at a time: a PUT while an operation runs is
 * refused with 409 OperationNotAllowed ("Troubleshoot OperationNotAllowed errors"), and only a settled cluster says
 * whether its profile is in force.
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import { setTimeout as delay } from 'node:timers/promises';
import type { ClusterRef } from '../../contract/activities.js';
import { SharedReads } from '../../domain/shared-reads.js';
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
 * How often a wait for a busy cluster looks at it, unless the connection sets pollIntervalMs. Every binding on the
 * cluster waits the same way, but the waits of one worker share their reads (`waitingRead`): ARM sees one GET per
 * cluster per worker this often, however many wait, well inside a principal's read budget (ARM refills it at 25
 * per second, request-limits-and-throttling), and a waiter notices the end of the operation within this long.
 * Jittered, so that workers do not read in step.
 */
const CLUSTER_POLL_MS = 2_000;
const jitter = (ms: number) => Math.round(ms * (0.8 + 0.4 * Math.random()));

export function clusterReader(clients: AzureClients) {
  const getCluster = (c: ClusterCoordinates): Promise<ManagedCluster> =>
    azureCall(
      `get ${clusterLabel(c)}`,
      () => clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name),
      'check the subscription, resource group and cluster name, and that the worker identity may read the cluster',
    );

  const intervalMs = clients.pollIntervalMs ?? CLUSTER_POLL_MS;
  /**
   * Reads for waits: one started by another wait of this worker less than an interval ago (in flight or done) is
   * shared, else a new GET. The first read of every activity is its own (getCluster); a PUT built on a shared read
   * carries its eTag, so a change since that read is refused (412) and read again, never overwritten.
   */
  const waits = new SharedReads<string, ManagedCluster>({ freshMs: intervalMs, maxAgeMs: intervalMs });
  const waitingRead = (c: ClusterCoordinates) =>
    waits.read(`${c.subscriptionId}/${c.resourceGroup}/${c.name}`.toLowerCase(), () => getCluster(c));

  /**
   * The cluster once no operation runs on it: polls, heartbeating what it waits for (with `operations`, the
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
      const ms = jitter(intervalMs);
      await (ctx ? ctx.sleep(ms) : delay(ms));
      current = await waitingRead(cluster);
    }
    return current;
  }

  return { getCluster, settled };
}
