/** What the Kubernetes integration tests share: the lab cluster from KUBECONFIG and a request-shaped input. */
import { ApplicationFailure } from '@temporalio/common';
import { KubeConfig } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { createKubernetesActivities, kubeconfigFromFile } from '../../../activities/kubernetes.js';
import type { EnsureCredentialSpecInput } from '../../../contract/activities.js';

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

export function specInput(specName: string, over: Partial<EnsureCredentialSpecInput> = {}): EnsureCredentialSpecInput {
  return {
    cluster: {
      subscriptionId: '00000000-0000-0000-0000-000000000000',
      resourceGroup: 'rg-gmsa-lab',
      name: 'aks-gmsa-lab',
      windowsNodePools: ['win1'],
    },
    specName,
    gmsaName: 'webapp01',
    domain: {
      dnsName: 'lab.example.test',
      netbiosName: 'LAB',
      forestRoot: 'lab.example.test',
      domainGuid: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      domainSid: 'S-1-5-21-1004336348-1177238915-682003330',
    },
    hostAccount: {
      principalId: '9a3c1a52-0d1e-4b7c-8f57-5a6f0c1d2e3f',
      secretUri: 'https://kv-gmsa-01.vault.azure.net/secrets/gmsa-webapp01',
    },
    rbac: { namespace: 'default', serviceAccount: 'default' },
    ...over,
  };
}

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
