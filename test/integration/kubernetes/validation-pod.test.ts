/**
 * runValidationPod against the lab's real kube-apiserver, which has no nodes: the pod is created as the binding's
 * (labels, spec, node selector, image of the pool's SKU), stays Pending, and after `timeoutSeconds` the activity
 * fails saying so (no node matches which selector), heartbeating while it waits; the pod is gone afterwards. A pod
 * of ours from a dead attempt of the same run is reused, one of another run replaced, a foreign one refused.
 */
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { kubeconfigFromFile } from '../../../activities/kubernetes/client.js';
import {
  createValidationPodActivities,
  validationPodManifest,
  validationPodName,
} from '../../../activities/kubernetes/validation-pod.js';
import type { ValidationPodInput } from '../../../contract/validation.js';
import { bindingKey } from '../../../domain/ownership.js';
import { adminConfig, kubeconfigPath } from './cluster.js';

const binding = `gmsa-itval-${randomBytes(6).toString('hex')}`;
const namespace = `val-${randomBytes(4).toString('hex')}`;
const cluster = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'rg',
  name: 'aks',
  windowsNodePools: ['win1'],
};

const input = (o: Partial<ValidationPodInput> = {}): ValidationPodInput => ({
  cluster,
  specName: 'webapp01',
  gmsaName: 'webapp01',
  domainFqdn: 'lab.example.test',
  namespace,
  serviceAccount: 'webapp-sa',
  pool: { name: 'win1', osSku: 'Windows2022' },
  timeoutSeconds: 3,
  run: `r${randomBytes(4).toString('hex')}`,
  owner: { binding, adopt: [] },
  ...o,
});

async function rejection(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApplicationFailure, `an ApplicationFailure, got ${String(e)}`);
    return e;
  }
  assert.fail('expected runValidationPod to fail');
}

describe('runValidationPod on a kube-apiserver without nodes', () => {
  let core: CoreV1Api;
  let activities: ReturnType<typeof createValidationPodActivities>;
  const podsOfBinding = async () =>
    (await core.listNamespacedPod({ namespace, labelSelector: `aks-gmsa.io/binding=${bindingKey(binding)}` })).items;

  let setupError: unknown;
  before(async () => {
    try {
      const file = kubeconfigPath();
      core = adminConfig(file).makeApiClient(CoreV1Api);
      activities = createValidationPodActivities({ kubeconfigFor: kubeconfigFromFile(file) });
      await core.createNamespace({ body: { metadata: { name: namespace } } });
    } catch (e) {
      setupError = e;
    }
  });
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  after(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('times out saying the pod is Pending and no node matches its selector, heartbeating, and removes the pod', async () => {
    const i = input();
    const name = validationPodName(binding, i.run);
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 10_000 });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const err = await rejection(env.run(activities.runValidationPod, i));
    assert.equal(err.type, 'PreconditionFailed');
    assert.equal(err.nonRetryable, true);
    assert.match(
      err.message,
      new RegExp(
        `^validation pod ${namespace}/${name} did not finish within 3 s: it is Pending, on no node: no node matches ` +
          'its node selector kubernetes\\.io/os=windows,agentpool=win1',
      ),
    );
    assert.ok(beats.length >= 1, 'it heartbeats while it waits');
    assert.deepEqual(beats[0], { pod: name, phase: 'Pending' });

    assert.deepEqual(await podsOfBinding(), [], 'the pod is gone afterwards');
  });

  it("creates the pod as the binding's, with the spec, selector and image, and removes it when cancelled", async () => {
    const i = input({ timeoutSeconds: 600 });
    const name = validationPodName(binding, i.run);
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 10_000 });
    let stored: Promise<V1Pod> | undefined;
    // The first heartbeat comes once the pod is created: read what the API server holds, then cancel the run.
    env.on('heartbeat', () => {
      stored ??= core.readNamespacedPod({ name, namespace }).finally(() => env.cancel());
    });
    await assert.rejects(env.run(activities.runValidationPod, i), (e: unknown) => e instanceof CancelledFailure);
    const pod = await stored!;
    assert.equal(pod.metadata?.labels?.['app.kubernetes.io/managed-by'], 'aks-gmsa');
    assert.equal(pod.metadata?.labels?.['aks-gmsa.io/binding'], bindingKey(binding));
    assert.equal(pod.metadata?.annotations?.['aks-gmsa.io/binding-id'], binding);
    assert.equal(pod.spec?.serviceAccountName, 'webapp-sa');
    assert.equal(pod.spec?.securityContext?.windowsOptions?.gmsaCredentialSpecName, 'webapp01');
    assert.deepEqual(pod.spec?.nodeSelector, { 'kubernetes.io/os': 'windows', agentpool: 'win1' });
    assert.equal(pod.spec?.os?.name, 'windows');
    assert.equal(pod.spec?.containers[0]?.image, 'mcr.microsoft.com/windows/servercore:ltsc2022');
    assert.ok(pod.spec?.tolerations?.some((t) => t.key === 'os' && t.value === 'windows'));

    assert.deepEqual(await podsOfBinding(), [], 'the pod is gone after the cancellation');
  });

  it("reuses this run's pod left by a dead attempt (it has finished: its log is read, not a new pod run)", async () => {
    const i = input();
    const manifest = validationPodManifest(i, binding, 'mcr.microsoft.com/windows/servercore:ltsc2022');
    const created = await core.createNamespacedPod({ namespace, body: manifest });
    // A kube-apiserver alone runs nothing: the finished attempt's pod is told by its status.
    await core.replaceNamespacedPodStatus({
      name: manifest.metadata!.name!,
      namespace,
      body: { ...created, status: { phase: 'Succeeded' } },
    });
    const err = await rejection(activities.runValidationPod(i));
    // It went straight to the log (which a pod that never had a node cannot give): it did not wait anew.
    assert.match(
      err.message,
      new RegExp(`^reading the log of validation pod ${namespace}/${manifest.metadata!.name}: `),
    );
    assert.deepEqual(await podsOfBinding(), []);
  });

  it('replaces a pod of this binding left by another run, and leaves no pod of either', async () => {
    const old = input({ run: 'oldrun01' });
    await core.createNamespacedPod({ namespace, body: validationPodManifest(old, binding, 'img') });
    assert.equal((await podsOfBinding()).length, 1);
    const err = await rejection(activities.runValidationPod(input({ timeoutSeconds: 1 })));
    assert.match(err.message, /did not finish within 1 s/);
    assert.deepEqual(await podsOfBinding(), []);
  });

  it('refuses a pod of that name that is not ours, and leaves it as it was', async () => {
    const i = input();
    const name = validationPodName(binding, i.run);
    await core.createNamespacedPod({
      namespace,
      body: { metadata: { name, labels: { team: 'other' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    });
    const err = await rejection(activities.runValidationPod(i));
    assert.equal(err.type, 'Conflict');
    assert.match(err.message, new RegExp(`pod ${namespace}/${name} exists and is not this binding's validation pod`));
    const still = await core.readNamespacedPod({ name, namespace });
    assert.deepEqual(still.metadata?.labels, { team: 'other' });
    await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
  });

  it('refuses a Windows2019 pool before creating anything', async () => {
    const err = await rejection(activities.runValidationPod(input({ pool: { name: 'old19', osSku: 'Windows2019' } })));
    assert.equal(err.type, 'PreconditionFailed');
    assert.match(err.message, /old19 runs Windows2019, which is out of support/);
    assert.deepEqual(await podsOfBinding(), []);
  });
});
