/**
 * The retry budgets add up to what Azure needs (issue: fleet): a step that meets "another operation is in
 * progress" keeps retrying for as long as such an operation lasts in a bad case, and one that meets a role
 * assignment still propagating retries for longer than Azure's documented 10 minutes. The delays are the ones the
 * error classifier puts on those failures (nextRetryDelay), the attempts the step policies' own.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUSY_RETRY_MS } from '../../activities/azure/errors.js';
import { msToNumber as msOf } from '@temporalio/common/lib/time.js';
import {
  azureLongRunning,
  dataPlane,
  kubernetes,
  quick,
  removal,
  scaleSetWrite,
  verification,
} from '../../workflows/step-policies.js';
import type { StepPolicy } from '../../workflows/step-policies.js';

const MINUTE = 60_000;
/** The waits between attempts when every failure asks for `delayMs`: the server waits exactly that each time. */
const budgetMs = (p: StepPolicy, delayMs: number) => (p.maxAttempts - 1) * delayMs;
/** The waits between attempts on the policy's own backoff (a refused connection names no delay). */
const backoffMs = (p: StepPolicy) => {
  let total = 0;
  for (let n = 1; n < p.maxAttempts; n++)
    total += Math.min(p.initialIntervalMs * p.backoff ** (n - 1), p.maxIntervalMs);
  return total;
};

describe('retry budgets', () => {
  // The latency model's bad cases: an AKS update 20 minutes, a VMSS update 6 (16 when throttled).
  test('a busy 409 is retried for longer than the bad case of the operation that holds the resource', () => {
    for (const [name, p] of Object.entries({ azureLongRunning, scaleSetWrite })) {
      assert.ok(
        budgetMs(p, BUSY_RETRY_MS.min) >= 20 * MINUTE,
        `${name}: ${budgetMs(p, BUSY_RETRY_MS.min) / MINUTE} min`,
      );
    }
    assert.ok(budgetMs(removal, BUSY_RETRY_MS.min) >= 4 * MINUTE, 'a removal outlasts a VMSS update of 40 s and more');
  });

  test('a 403 "observe propagation time" is retried for more than the 10 minutes Azure RBAC may take', () => {
    // It names no delay (transient-errors.test.ts): the policy's backoff, soon at first, then every 30 s.
    for (const [name, p] of Object.entries({ dataPlane, verification })) {
      assert.ok(backoffMs(p) > 10 * MINUTE, `${name}: ${backoffMs(p) / MINUTE} min`);
      assert.ok(p.initialIntervalMs <= 1_000 && p.maxIntervalMs <= 30_000, `${name} looks again soon, then often`);
    }
  });

  test('a Kubernetes step waits out an API server away for 25 minutes (the lab building its own)', () => {
    assert.ok(backoffMs(kubernetes) >= 25 * MINUTE, `kubernetes: ${backoffMs(kubernetes) / MINUTE} min`);
    assert.ok(backoffMs(quick) < 25 * MINUTE, 'the quick policy alone would not');
  });

  test('a failure that names no delay is retried for minutes, yet three lost attempts in a row wait under 5 s', () => {
    // A dead worker's attempt ends in a heartbeat timeout, which names no delay: the policy's backoff spaces the
    // retries. In a fleet whose workers die, one step can lose three attempts in a row.
    const firstWaits = (p: StepPolicy) => [0, 1, 2].reduce((t, n) => t + p.initialIntervalMs * p.backoff ** n, 0);
    for (const [name, p] of Object.entries({ quick, azureLongRunning, dataPlane })) {
      assert.ok(firstWaits(p) < 5_000, `${name}: ${firstWaits(p)} ms before the fourth attempt`);
    }
    for (const [name, p] of Object.entries({ quick, dataPlane })) {
      assert.ok(backoffMs(p) >= 2 * MINUTE, `${name}: ${backoffMs(p) / MINUTE} min in all`);
    }
  });

  test('every step notices a dead worker within 20 s (its heartbeat timeout)', () => {
    for (const [name, p] of Object.entries({
      quick,
      kubernetes,
      azureLongRunning,
      scaleSetWrite,
      dataPlane,
      verification,
      removal,
    })) {
      assert.ok(p.heartbeat !== undefined && msOf(p.heartbeat) <= 20_000, `${name}: ${String(p.heartbeat)}`);
    }
  });
});
