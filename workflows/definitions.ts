/**
 * What the API, the CLI and the workflow share: the workflow's name, its input and output, its signal and query,
 * and the progress model. Types and message definitions only, so both sides import it without I/O.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SignedApproval } from '../contract/activities.js';
import {
  SCALE_SET_CHANGE_SIGNAL,
  SCALE_SET_OUTCOME_SIGNAL,
  type ScaleSetChange,
  type ScaleSetChangeOutcome,
} from '../contract/coordination.js';
import type { ProvisionRequest } from '../domain/request.js';

export const PROVISION_WORKFLOW = 'provisionGmsa';

/** The workflow's input: the validated request, nothing secret. */
export type ProvisionInput = ProvisionRequest;

/** The one line the Temporal UI shows for a run. */
export const provisionSummary = (input: ProvisionInput): string =>
  `gMSA ${input.gmsa.name} → spec ${input.gmsa.credentialSpecName} on ${input.cluster.name} (${input.domain.fqdn})`;

export interface ProvisionOutputs {
  clusterId: string;
  managedIdentityId?: string;
  keyVaultId: string;
  secretUri: string;
  domainUserDn: string;
  gmsaDn: string;
  credentialSpecName: string;
  hostPrincipalId: string;
  kdsRootKeyId: string;
}

/** Steps in the order DESIGN lists them; every one appears in `progress`. */
export const STEP_NAMES = [
  'confirmAksGmsa',
  'ensureManagedIdentity',
  'ensureKeyVault',
  'findDomainUser',
  'storeUserSecret',
  'getDomainFacts',
  'ensureKdsRootKey',
  'awaitAdApproval',
  'ensureDomainUser',
  'ensureGmsa',
  'attachIdentity',
  'grantKeyVaultAccess',
  'ensureCredentialSpec',
  'verifyChain',
  'scheduleOperations',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

/**
 * The steps of runs started before ownership (legacy/): no findDomainUser, no coordinated attachIdentity, no
 * Schedules.
 */
export const STEP_NAMES_V2 = STEP_NAMES.filter(
  (n) => n !== 'findDomainUser' && n !== 'attachIdentity' && n !== 'scheduleOperations',
);

export type StepStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped';

export interface StepError {
  message: string;
  type?: string;
  retryable: boolean;
  at: string;
}

export interface StepProgress<N extends string = StepName> {
  name: N;
  /** `running` from the first attempt to the last: the server keeps the retries (the API tells them apart). */
  status: StepStatus;
  /**
   * The workflow counts 1 once the activity is scheduled; the server runs the attempts, so the API fills the
   * current attempt from the pending activity of `describe()` (joined by activityId = step name).
   */
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  /** While waiting: when the KDS wait ends; the API fills the next attempt of a retrying step (pending activity). */
  waitUntil?: string;
  /** The final failure (the activity failure's cause, scrubbed, `retryable: false`); the API fills a retry's. */
  lastError?: StepError;
  /** One line of what the step did or is doing, e.g. "created vault kv-gmsa-01". */
  summary?: string;
}

export interface Approval {
  by: string;
  comment?: string;
  at: string;
}

/** What options.rollbackOnFailure removed after a failure or cancellation: only what this run created. */
export interface RollbackProgress {
  status: 'running' | 'done' | 'failed';
  removed: string[];
  /** What could not be removed, with why: left for a person (or a rerun with rollback) to clean up. */
  failed: string[];
}

export interface Progress<N extends string = StepName, O = ProvisionOutputs> {
  /** One line: what the workflow is doing now. */
  phase: string;
  steps: StepProgress<N>[];
  approval?: Approval;
  rollback?: RollbackProgress;
  outputs?: O;
  error?: string;
}

export interface ApproveAdStepArgs {
  by: string;
  comment?: string;
}

/**
 * The AD operator's go-ahead, as the API's approver role sends it: an update carrying the API's proof, which the
 * workflow checks (verifyApproval) before it counts. It never outruns the KDS root key: the run still waits until
 * the key is usable.
 */
export const approveAdStepUpdate = defineUpdate<Approval, [SignedApproval]>('approveAdStep');

/**
 * The go-ahead of runs started before the update (legacy/): a signal anyone reaching the frontend could send, so
 * newer runs record it as refused and wait for the update.
 */
export const approveAdStepSignal = defineSignal<[ApproveAdStepArgs]>('approveAdStep');
export const progressQuery = defineQuery<Progress>('progress');
/**
 * The memo key under which a run keeps its final progress (the `progress` query's last answer) when it ends,
 * completed, failed or cancelled: a finished run is read from describe() without a replay. Encrypted like every
 * payload (the codec); runs that ended before the patch `final-progress-memo` have none.
 */
export const PROGRESS_MEMO = 'progress';
/** The same query on a day-2 operation (workflows/operation.ts): its own step names and outputs. */
export const operationProgressQuery = defineQuery<Progress<string, unknown>>('progress');

/** A binding's change to a scale set's identities, queued at that scale set's coordinator. */
export const scaleSetChangeSignal = defineSignal<[ScaleSetChange]>(SCALE_SET_CHANGE_SIGNAL);
/** The coordinator's answer to one change, signalled to the binding that queued it. */
export const scaleSetOutcomeSignal = defineSignal<[ScaleSetChangeOutcome]>(SCALE_SET_OUTCOME_SIGNAL);
