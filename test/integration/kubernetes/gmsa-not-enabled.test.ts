/**
 * A cluster where gMSA is not enabled: a real kube-apiserver without the GMSACredentialSpec CRD (the lab's second
 * API server, over the same etcd under another prefix, so the shared cluster keeps its CRD for suites running now).
 */
import { ApiException, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { kubernetesWithoutGmsaLab } from '../../../lab/kubernetes/index.js';
import { runningPid } from '../../../lab/process.js';
import { labPath } from '../../../lab/paths.js';
import { activitiesFor, adminConfig, assertFailure, kubeconfigPath, specInput, uniqueSpecName } from './cluster.js';

describe('a cluster without gMSA', () => {
  let kubeconfig: string;
  let startedHere = false;

  // A missing KUBECONFIG fails every test (a failing `before` would only cancel them).
  let setupError: unknown;
  before(async () => {
    try {
      kubeconfigPath(); // the lab cluster must be up: this API server shares its etcd and certificates
      const given = process.env.KUBECONFIG_WITHOUT_GMSA;
      const running = runningPid(labPath('kubernetes', 'apiserver-without-gmsa.pid')) !== undefined;
      kubeconfig = given ?? (await kubernetesWithoutGmsaLab.start()).KUBECONFIG_WITHOUT_GMSA ?? '';
      startedHere = !given && !running;
    } catch (e) {
      setupError = e;
    }
  });
  beforeEach(() => {
    if (setupError) throw setupError;
  });

  after(async () => {
    if (startedHere) await kubernetesWithoutGmsaLab.stop();
  });

  it('fails ensureCredentialSpec at once with "gMSA is not enabled" and what to do, creating nothing', async () => {
    const specName = uniqueSpecName('nogmsa');
    await assertFailure(activitiesFor(kubeconfig).ensureCredentialSpec(specInput(specName)), {
      nonRetryable: true,
      type: 'PreconditionFailed',
      message: /^gMSA is not enabled on this cluster: .*GMSACredentialSpec CRD is missing.*--enable-windows-gmsa/,
    });
    const rbac = adminConfig(kubeconfig).makeApiClient(RbacAuthorizationV1Api);
    await assert.rejects(
      rbac.readClusterRole({ name: `${specName}-role` }),
      (e: unknown) => e instanceof ApiException && e.code === 404,
    );
  });

  it('has nothing to remove there', async () => {
    const input = specInput(uniqueSpecName('nogmsa'));
    assert.deepEqual(
      await activitiesFor(kubeconfig).removeCredentialSpec({
        cluster: input.cluster,
        specName: input.specName,
        rbac: input.rbac,
      }),
      { removed: [], kept: [] },
    );
  });
});
