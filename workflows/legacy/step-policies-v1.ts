/**
 * Frozen: the policy table of provision-v1.ts. Its values are part of that code's workflow commands (attempt limits
 * decide between a timer and a failure), so editing it would break replay of the old runs; never change it.
 *
 * Timeouts and retries per step, in one table. The workflow runs the retry loop itself (each attempt is one
 * activity execution with a single try) so `progress` can show attempts, the last error and the next attempt
 * while a step is still retrying, and the Temporal UI shows every failed attempt in the history.
 */
import type { Duration } from '@temporalio/common';
import type { StepActivities } from '../../contract/activities.js';

/** The steps this workflow knew (findDomainUser came with ownership, in the graph only). */
export type ActivityName = Exclude<keyof StepActivities, 'findDomainUser'>;

export interface StepPolicy {
  /** One attempt's limit. */
  startToClose: Duration;
  /** For steps that poll long-running operations: a stalled worker is noticed this fast. */
  heartbeat?: Duration;
  maxAttempts: number;
  initialIntervalMs: number;
  backoff: number;
  maxIntervalMs: number;
}

const quick: StepPolicy = {
  startToClose: '1 minute',
  maxAttempts: 8,
  initialIntervalMs: 1_000,
  backoff: 2,
  maxIntervalMs: 60_000,
};

// Azure long-running operations: enabling gMSA on a cluster takes 5-10 minutes, a VMSS update a few.
const azureLongRunning: StepPolicy = {
  startToClose: '30 minutes',
  heartbeat: '1 minute',
  maxAttempts: 6,
  initialIntervalMs: 5_000,
  backoff: 2,
  maxIntervalMs: 5 * 60_000,
};

export const STEP_POLICIES: Record<ActivityName, StepPolicy> = {
  confirmAksGmsa: azureLongRunning,
  ensureManagedIdentity: quick,
  ensureKeyVault: { ...azureLongRunning, startToClose: '10 minutes' },
  storeUserSecret: quick,
  getDomainFacts: quick,
  ensureKdsRootKey: quick,
  ensureDomainUser: quick,
  ensureGmsa: quick,
  grantKeyVaultAccess: azureLongRunning,
  ensureCredentialSpec: quick,
  verifyChain: { ...quick, maxAttempts: 5 },
};

/** Delay before attempt `attempt + 1`: exponential, capped. */
export function retryDelayMs(policy: StepPolicy, attempt: number): number {
  return Math.min(policy.initialIntervalMs * policy.backoff ** (attempt - 1), policy.maxIntervalMs);
}

/** The longest the KDS wait lasts: a root key is usable on every DC 10 hours after its use-start time. */
export const KDS_MAX_WAIT_MS = 10 * 60 * 60 * 1000;
