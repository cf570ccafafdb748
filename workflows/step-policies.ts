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
 * Every step's heartbeat timeout: an attempt on a worker that died (kill -9, a lost node) is retried on another
 * this long after its last heartbeat. The keep-alive beats every half of it and the worker sends each beat within
 * a second (worker/create-worker.ts), so a dead worker is noticed 1.5-3 s after it dies, and only a worker stalled
 * for over 1.5 s misses a beat.
 */
export const HEARTBEAT: Duration = '3 seconds';

/**
 * How the waits between attempts grow. An attempt that died with its worker is retried on this backoff too (a
 * heartbeat timeout names no delay), and in a fleet a step can lose several attempts to dead workers in a row:
 * growing by half each time, the third retry starts 2.25 s after its timeout where doubling made it 4 s (8 s for
 * an Azure operation), and the attempts are more, so a failure that names no delay is still retried for minutes.
 */
const GROWTH = 1.5;

/**
 * LDAP, Kubernetes and plain ARM calls: seconds each. Every step heartbeats (activities/keep-alive.ts), so a
 * cancellation reaches a running attempt and a dead worker is noticed in the heartbeat timeout. 12 attempts wait
 * about 3 minutes in all (a domain controller's restart, a connection refused).
 */
export const quick: StepPolicy = {
  startToClose: '1 minute',
  heartbeat: HEARTBEAT,
  maxAttempts: 12,
  initialIntervalMs: 1_000,
  backoff: GROWTH,
  maxIntervalMs: 60_000,
};

/**
 * Azure long-running operations: enabling gMSA on a cluster takes 5-10 minutes (20 in a bad case), a VMSS update
 * 40 s to 16 minutes. The attempts are many because Azure's "another operation is in progress" lasts as long as
 * that other operation: each such 409 retries after a jittered 10-30 s (activities/azure/errors.ts), or Azure's
 * Retry-After, for 25 to 75 minutes in all (test/unit/retry-budgets.test.ts adds it up). The heartbeat is short: an
 * attempt on a dead worker is retried elsewhere within 3 s and resumes the operation from its heartbeat.
 */
export const azureLongRunning: StepPolicy = {
  startToClose: '30 minutes',
  heartbeat: HEARTBEAT,
  maxAttempts: 150,
  initialIntervalMs: 1_000,
  backoff: GROWTH,
  maxIntervalMs: 60_000,
};

/** The scale-set coordinator's PATCHes (workflows/scale-set-identities.ts): an Azure long-running write. */
export const scaleSetWrite: StepPolicy = azureLongRunning;

/** Creating a vault is a long-running operation of a few minutes at most. */
export const keyVault: StepPolicy = { ...azureLongRunning, startToClose: '10 minutes' };

/**
 * Steps that read or write a vault's data plane right after a role assignment: Key Vault answers 403 "please
 * observe propagation time" for seconds to 10 minutes (Azure RBAC troubleshooting). Such a 403 names no delay
 * (activities/azure/errors.ts), so the backoff looks again after 1 s and then less often, at most every 30 s: the
 * 30 attempts cover 11 minutes (test/unit/retry-budgets.test.ts).
 */
export const dataPlane: StepPolicy = { ...quick, maxAttempts: 30, maxIntervalMs: 30_000 };

/**
 * Writes to the cluster's Kubernetes API: seconds each, but the API server can be away for minutes (an AKS control
 * plane upgrade; the lab's first build of its kube-apiserver, 5 to 25 minutes on two cores), and a step that needs
 * it waits rather than fails: the attempts, at most a minute apart, cover about 40 minutes. A refusal (403, an
 * invalid object) is not retried at all (activities/kubernetes/errors.ts).
 */
export const kubernetes: StepPolicy = { ...quick, maxAttempts: 45 };

/** The end-to-end check: a broken link rarely heals by retrying, a propagating role assignment does. */
export const verification: StepPolicy = dataPlane;

/** Every removal of a rollback. */
export const removal: StepPolicy = {
  startToClose: '10 minutes',
  heartbeat: HEARTBEAT,
  // Enough to outlast another operation on the same resource (Azure's 409 "in progress").
  maxAttempts: 30,
  initialIntervalMs: 2_000,
  backoff: 2,
  maxIntervalMs: 60_000,
};

/** The longest the KDS wait lasts: a root key is usable on every DC 10 hours after its use-start time. */
export const KDS_MAX_WAIT_MS = 10 * 60 * 60 * 1000;
