/**
 * Activities of a binding's lifecycle around its objects (deprovision, the operations' Schedules): which credential
 * specs are left on a cluster, turning gMSA off, and the Temporal Schedules of repair and password rotation.
 */
import type { ClusterRef } from './activities.js';
import type { BindingInput } from './operations.js';

export interface CredentialSpecEntry {
  name: string;
  /** The binding id of ours that wrote it (annotation aks-gmsa.io/binding-id); absent for a foreign spec. */
  binding?: string;
  /** Marked as this product's (label app.kubernetes.io/managed-by). */
  ours: boolean;
}

export interface ScheduleOperationsInput extends BindingInput {
  /** A duration of domain/every.ts, e.g. "6h"; the repair Schedule is removed when absent. */
  repairEvery?: string;
  /** e.g. "30d"; the rotation Schedule is removed when absent. */
  rotatePasswordEvery?: string;
  /** Search attributes the Schedule and its runs carry besides GmsaBinding (GmsaCluster, GmsaCredentialSpec). */
  cluster?: string;
  credentialSpec?: string;
}

export interface ScheduleOperationsResult {
  /** Ids of the binding's Schedules now in place. */
  schedules: string[];
  /** Of those, the ones this call created or changed (their interval or action differed). */
  changed: string[];
  /** Schedules no longer asked for, deleted. */
  removed: string[];
}

export interface LifecycleActivities {
  /** Every GMSACredentialSpec on the cluster, ours or not (none when the cluster does not serve the type). */
  listCredentialSpecs(input: { cluster: ClusterRef }): Promise<{ specs: CredentialSpecEntry[] }>;
  /** Turns gMSA off on the cluster (`az aks update --disable-windows-gmsa`); `disabled`: this call changed it. */
  disableClusterGmsa(input: { cluster: ClusterRef }): Promise<{ disabled: boolean }>;
  ensureOperationSchedules(input: ScheduleOperationsInput): Promise<ScheduleOperationsResult>;
  /** Deletes the binding's Schedules (those that exist). */
  deleteOperationSchedules(input: BindingInput): Promise<{ deleted: string[] }>;
}
