/**
 * Timeouts and retry policies, named by the kind of step; each step in steps.ts says which one it takes. The
 * server runs the retries (one activity per step, the policy below as its retry options), so a policy is not part
 * of the workflow's commands: editing a value here changes the next attempt of a run in flight, never its replay
 * (test/workflow/replay-policy.test.ts proves it on a history recorded mid-retry).
 */
import type { Duration } from '@temporalio/common';

export interface StepPolicy {
  /** One attempt's limit. */
  startToClose: Duration;
  /** A stalled or dead worker is noticed this fast. */
  heartbeat?: Duration;
  maxAttempts: number;
  initialIntervalMs: number;
  backoff: number;
  maxIntervalMs: number;
}

/**
 * LDAP, Kubernetes and plain ARM calls: seconds each. Every step heartbeats (activities/keep-alive.ts), so a
 * cancellation reaches a running attempt and a dead worker is noticed in the heartbeat timeout.
 */
export const quick: StepPolicy = {
  startToClose: '1 minute',
  heartbeat: '20 seconds',
  maxAttempts: 8,
  initialIntervalMs: 1_000,
  backoff: 2,
  maxIntervalMs: 60_000,
};

/** Azure long-running operations: enabling gMSA on a cluster takes 5-10 minutes, a VMSS update a few. */
export const azureLongRunning: StepPolicy = {
  startToClose: '30 minutes',
  heartbeat: '1 minute',
  maxAttempts: 6,
  initialIntervalMs: 5_000,
  backoff: 2,
  maxIntervalMs: 5 * 60_000,
};

/** Creating a vault is a long-running operation of a few minutes at most. */
export const keyVault: StepPolicy = { ...azureLongRunning, startToClose: '10 minutes' };

/** The end-to-end check: a broken link rarely heals by retrying, a propagating role assignment does. */
export const verification: StepPolicy = { ...quick, maxAttempts: 5 };

/** Every removal of a rollback. */
export const removal: StepPolicy = {
  startToClose: '10 minutes',
  heartbeat: '1 minute',
  maxAttempts: 5,
  initialIntervalMs: 2_000,
  backoff: 2,
  maxIntervalMs: 60_000,
};

/** The longest the KDS wait lasts: a root key is usable on every DC 10 hours after its use-start time. */
export const KDS_MAX_WAIT_MS = 10 * 60 * 60 * 1000;
