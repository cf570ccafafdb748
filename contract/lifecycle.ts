/**
 * Activities of a binding's lifecycle around its objects (deprovision, the operations' Schedules): which credential
 * specs are left on a cluster, turning gMSA off, and the Temporal Schedules of repair and password rotation.
 * DRAFT by the contract author: the deprovision work refines these types in this file.
 */
import type { ClusterRef } from './activities.js';
import type { BindingInput } from './operations.js';

export interface CredentialSpecEntry {
  name: string;
  /** The binding id of ours that wrote it (annotation aks-gmsa.io/binding-id); absent for a foreign spec. */
  binding?: string;
  ours: boolean;
}

export interface ScheduleOperationsInput extends BindingInput {
  /** e.g. "6h"; the repair Schedule is removed when absent. */
  repairEvery?: string;
  /** e.g. "30d"; the rotation Schedule is removed when absent. */
  rotatePasswordEvery?: string;
}

export interface LifecycleActivities {
  listCredentialSpecs(input: { cluster: ClusterRef }): Promise<{ specs: CredentialSpecEntry[] }>;
  disableClusterGmsa(input: { cluster: ClusterRef }): Promise<{ disabled: boolean }>;
  ensureOperationSchedules(input: ScheduleOperationsInput): Promise<{ schedules: string[]; removed: string[] }>;
  deleteOperationSchedules(input: BindingInput): Promise<{ deleted: string[] }>;
}
