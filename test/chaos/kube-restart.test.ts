/**
 * Chaos: the kube-apiserver restarted mid-run (issue 13). One provisioning on a cluster of its own; its vault create
 * is held in the ARM fake, so the Kubernetes step (ensureCredentialSpec, which needs the gMSA and so the secret) has
 * not begun. The API server is stopped (etcd keeps the data), the hold released, and the Kubernetes step is seen
 * failing and retrying; then the API server starts again and the run must complete, nothing made twice. The API
 * server is shared by every suite: the chaos phase runs alone, and it is started again whatever happens.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProvisionRequest } from '../../domain/request.js';
import { kubernetesLab, stopKubeApiServer } from '../../lab/kubernetes/index.js';
import { mark, requestsSince, seedCluster, withOverride } from '../support/azure-lab.js';
import { assertNothingTwice, expectAllComplete, removeRuns, reportRecovery, step, watchRun } from '../support/chaos.js';
import { labRequest, runTag, startE2eLab, type E2eLab } from '../support/e2e-lab.js';
import { pollUntil } from '../support/poll.js';

const KUBE_STEP = 'ensureCredentialSpec';
let lab: E2eLab;
const made: { request: ProvisionRequest; id: string; nodeResourceGroup: string }[] = [];

before(async () => {
  lab = await startE2eLab({ prefix: 'chaos-kube' });
});

after(async () => {
  try {
    await kubernetesLab.start(); // back up for everyone, whatever the test did
    await removeRuns(lab, made);
  } finally {
    await lab?.close();
  }
});

test(
  'the kube-apiserver restarted mid-run: the Kubernetes step retries and the run completes',
  { timeout: 300_000 },
  async () => {
    const cluster = await seedCluster();
    const request = labRequest(cluster, runTag());
    const vault = request.azure.keyVault.name;
    const since = await mark();

    await withOverride({ pathIncludes: vault, op: 'PUT vaults', hold: true }, async (hold) => {
      const id = await lab.start(request);
      made.push({ request, id, nodeResourceGroup: cluster.nodeResourceGroup });
      await pollUntil(
        'the vault create to be accepted and held',
        async () =>
          (await requestsSince(since, `/vaults/${vault}`)).some((r) => r.method === 'PUT' && r.status === 201),
        { timeoutMs: 120_000, intervalMs: 200 },
      );

      const stoppedAt = Date.now();
      assert.ok(await stopKubeApiServer(), 'the lab API server was running');
      await hold.release();
      const failed = await watchRun(lab, id, `${KUBE_STEP} to fail against the stopped API server and retry`, (v) => {
        const s = step(v, KUBE_STEP);
        return s && s.status !== 'succeeded' && s.lastError ? s : undefined;
      });
      assert.equal(
        failed.lastError?.retryable,
        true,
        `an API server that is down is worth a retry: ${JSON.stringify(failed)}`,
      );
      await kubernetesLab.start();
      const downMs = Date.now() - stoppedAt;
      await watchRun(
        lab,
        id,
        `${KUBE_STEP} to succeed once the API server is back`,
        (v) => step(v, KUBE_STEP)?.status === 'succeeded',
      );
      reportRecovery(
        'kube-apiserver-restart',
        Date.now() - stoppedAt,
        `API server down ${(downMs / 1000).toFixed(1)} s; ${KUBE_STEP} retried (attempt ${failed.attempts} when seen failing)`,
      );
      await expectAllComplete(lab, [id]);
    });
    await assertNothingTwice(lab, since, cluster, [request]);
  },
);
