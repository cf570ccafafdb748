/** What the Kubernetes integration tests share: the lab cluster from KUBECONFIG and a request-shaped input. */
import { ApplicationFailure } from '@temporalio/common';
import { KubeConfig } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { createKubernetesActivities, kubeconfigFromFile } from '../../../activities/kubernetes.js';

/** The kubeconfig the test runner exports after starting the lab cluster; its absence is a failure, not a skip. */
export function kubeconfigPath(name = 'KUBECONFIG'): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: start the lab cluster (tsx lab/kubernetes/cli.ts start) and export ${name}`);
  return value;
}

export function adminConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export function activitiesFor(file: string) {
  return createKubernetesActivities({ kubeconfigFor: kubeconfigFromFile(file) });
}

/** A spec name no earlier run used, so reruns of the suite start from nothing. */
export function uniqueSpecName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export { specInput } from '../../../lab/kubernetes/spec-input.js';

/** Asserts an activity failed the way the workflow needs: an ApplicationFailure, retryable or not, of a type. */
export async function assertFailure(
  run: Promise<unknown>,
  expected: { nonRetryable: boolean; type: string; message: RegExp },
): Promise<ApplicationFailure> {
  try {
    await run;
  } catch (e) {
    assert.ok(e instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(e)}`);
    assert.equal(e.nonRetryable, expected.nonRetryable, `nonRetryable of: ${e.message}`);
    assert.equal(e.type, expected.type, `type of: ${e.message}`);
    assert.match(e.message, expected.message);
    return e;
  }
  assert.fail('expected the activity to fail');
}
