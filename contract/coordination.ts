/**
 * Coordinated writes to one Azure resource (DESIGN "Many at once"). Azure serialises writes to a scale set (409
 * "Another operation is in progress") and a PATCH takes about 40 s, so bindings do not PATCH a scale set
 * themselves: each queues its change at the scale set's coordinator, an entity workflow with a well-known id
 * started by signal-with-start (the mutex pattern of temporalio/samples-typescript), which merges what is queued
 * into as few PATCHes as Azure allows and signals each binding its outcome. Names and ids live here, below both the
 * activity that queues (activities/coordination.ts) and the workflow that coordinates (workflows/scale-set-identities.ts).
 */
import type { OwnedInput } from './activities.js';

/** The coordinator's workflow type; its id is `scaleSetCoordinatorId(target)`. */
export const SCALE_SET_WORKFLOW = 'scaleSetIdentities';
/** Signal to the coordinator: one ScaleSetChange. */
export const SCALE_SET_CHANGE_SIGNAL = 'scaleSetChange';
/** Signal from the coordinator to the binding's workflow: one ScaleSetChangeOutcome. */
export const SCALE_SET_OUTCOME_SIGNAL = 'scaleSetChangeApplied';

/**
 * Azure's limits on user-assigned identities of one scale set: 150 named in one request ("User Assigned Identities
 * Number '151' Assign exceed limit '150' in one request", the 400 quoted in Azure/aad-pod-identity#813 and
 * Azure/bicep#16559) and 512 on the resource without the retired managed identity VM extension ("Azure
 * subscription and service limits", managed identities). Past 512 a binding's attach fails saying so: share one
 * identity among a cluster's bindings (the usual layout), or use hostIdentity kubeletIdentity.
 */
export const IDENTITIES_PER_REQUEST = 150;
export const IDENTITIES_PER_SCALE_SET = 512;

/** The scale set of one AKS node pool. */
export interface ScaleSetTarget {
  subscriptionId: string;
  nodeResourceGroup: string;
  /** The node pool; its scale set is found by AKS's pool tag (or its naming pattern). */
  pool: string;
}

/**
 * One coordinator per scale set, whatever case the caller spelled the names in, per task queue: it runs on the
 * queue of the workers that queue changes, so a deployment's coordinator is always served by its own workers.
 */
export const scaleSetCoordinatorId = (t: ScaleSetTarget, taskQueue: string): string =>
  `scale-set-identities/${taskQueue}/${t.subscriptionId}/${t.nodeResourceGroup}/${t.pool}`.toLowerCase();

/** One binding's change, queued at the scale set's coordinator. */
export interface ScaleSetChange extends OwnedInput {
  /** Unique per change: the outcome and a duplicate delivery are matched by it. */
  requestId: string;
  /** The workflow the coordinator signals the outcome to. */
  replyTo: string;
  op: 'attach' | 'detach';
  /** Resource id of the user-assigned identity. */
  identityId: string;
}

export interface ScaleSetChangeOutcome {
  requestId: string;
  /** The scale set's name, once it was found. */
  scaleSet?: string;
  ok: boolean;
  /** True when this change was written (false: it was so already, or it was kept). */
  changed?: boolean;
  /** A detach left undone, and why (not ours, or another binding still uses the identity). */
  kept?: string;
  /** When !ok: why, and the failure type (contract/errors.ts ErrorType). */
  error?: { message: string; type: string };
}

export interface QueueScaleSetChangeInput {
  target: ScaleSetTarget;
  change: ScaleSetChange;
}

export interface ApplyScaleSetChangesInput {
  target: ScaleSetTarget;
  /** In arrival order: for one identity the last change wins. */
  changes: ScaleSetChange[];
}

export interface ApplyScaleSetChangesResult {
  scaleSet: string;
  /** PATCHes sent (0 when everything was so already). */
  patches: number;
  /** One per change, in the order given. */
  outcomes: ScaleSetChangeOutcome[];
}

export interface CoordinationActivities {
  /** Signal-with-start: queues the change at its scale set's coordinator, starting one if none runs. */
  queueScaleSetChange(input: QueueScaleSetChangeInput): Promise<{ coordinator: string }>;
  /**
   * The coordinator's write: every change merged into PATCHes of at most IDENTITIES_PER_REQUEST identities, attaches
   * past IDENTITIES_PER_SCALE_SET refused (outcome not ok, PreconditionFailed), a detach only of an identity of
   * this product no other binding uses (else kept). Fails as a whole only when nothing could be tried (no such
   * pool's scale set, no permission): the coordinator then gives every change that failure.
   */
  applyScaleSetChanges(input: ApplyScaleSetChangesInput): Promise<ApplyScaleSetChangesResult>;
}
