/**
 * createKubeconfigSource (activities/azure/aks.ts) keeps a cluster's credential from ARM for a while: callers at
 * the same time share one request, later ones reuse it until the TTL, a failed request is not kept, and each
 * cluster and access (user, admin) has its own. ARM is a stub counting the calls the SDK client would make.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { createKubeconfigSource } from '../../activities/azure/aks.js';
import type { AzureClients } from '../../activities/azure/clients.js';

function stubArm(answer: (call: number) => Promise<string>) {
  const calls: string[] = [];
  const credentials = (access: string) => async (resourceGroup: string, name: string) => {
    calls.push(`${access} ${resourceGroup}/${name}`);
    const yaml = await answer(calls.length);
    return { kubeconfigs: [{ name: 'clusterUser', value: new TextEncoder().encode(yaml) }] };
  };
  const clients = {
    aks: () => ({
      managedClusters: {
        listClusterUserCredentials: credentials('user'),
        listClusterAdminCredentials: credentials('admin'),
      },
    }),
  } as unknown as AzureClients;
  return { clients, calls };
}

const web = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'aks-web' };
const api = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'aks-api' };

test('callers at the same time share one ARM call, and later ones reuse it', async () => {
  const { clients, calls } = stubArm(async (n) => {
    await delay(20);
    return `kubeconfig ${n}`;
  });
  const { getKubeconfig } = createKubeconfigSource(clients);
  const together = await Promise.all(Array.from({ length: 50 }, () => getKubeconfig(web)));
  assert.deepEqual(new Set(together), new Set(['kubeconfig 1']));
  assert.equal(await getKubeconfig(web), 'kubeconfig 1');
  assert.deepEqual(calls, ['user rg/aks-web']);
});

test('each cluster and each access has its own credential', async () => {
  const { clients, calls } = stubArm(async (n) => `kubeconfig ${n}`);
  const { getKubeconfig } = createKubeconfigSource(clients);
  assert.equal(await getKubeconfig(web), 'kubeconfig 1');
  assert.equal(await getKubeconfig(api), 'kubeconfig 2');
  assert.equal(await getKubeconfig(web, 'admin'), 'kubeconfig 3');
  assert.equal(await getKubeconfig({ ...web, name: 'AKS-WEB' }), 'kubeconfig 1', 'Azure names ignore case');
  assert.deepEqual(calls, ['user rg/aks-web', 'user rg/aks-api', 'admin rg/aks-web']);
});

test('after the TTL the credential is fetched again (a rotated one is seen)', async () => {
  const { clients, calls } = stubArm(async (n) => `kubeconfig ${n}`);
  const { getKubeconfig } = createKubeconfigSource(clients, { ttlMs: 30 });
  assert.equal(await getKubeconfig(web), 'kubeconfig 1');
  await delay(60);
  assert.equal(await getKubeconfig(web), 'kubeconfig 2');
  assert.equal(calls.length, 2);
});

test('a failed call is not kept: the next caller asks ARM again', async () => {
  const { clients, calls } = stubArm(async (n) => {
    if (n === 1) throw Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET', name: 'RestError' });
    return `kubeconfig ${n}`;
  });
  const { getKubeconfig } = createKubeconfigSource(clients);
  await assert.rejects(getKubeconfig(web), (e: unknown) => e instanceof ApplicationFailure && !e.nonRetryable);
  assert.equal(await getKubeconfig(web), 'kubeconfig 2');
  assert.equal(calls.length, 2);
});
