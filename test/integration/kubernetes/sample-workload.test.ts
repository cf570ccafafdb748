/**
 * The sample workload's YAML against the lab's real kube-apiserver: each object, read from the YAML text with the
 * client's own parser, is accepted by a server-side dry run (dryRun=All: validated and admitted, not stored), and a
 * broken Deployment (a selector that does not match its pods) is rejected by the same call.
 */
import { ApiException, KubernetesObjectApi, loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { before, beforeEach, describe, it } from 'node:test';
import { buildSampleWorkload } from '../../../domain/sample-workload.js';
import { adminConfig, kubeconfigPath } from './cluster.js';

describe('the sample workload on a real kube-apiserver (server-side dry run)', () => {
  let api: KubernetesObjectApi;
  let setupError: unknown;
  before(() => {
    try {
      api = KubernetesObjectApi.makeApiClient(adminConfig(kubeconfigPath()));
    } catch (e) {
      setupError = e;
    }
  });
  beforeEach(() => {
    if (setupError) throw setupError;
  });

  const workload = (pools = [{ name: 'win1', osSku: 'Windows2022' }]) =>
    buildSampleWorkload({ specName: 'webapp01', namespace: 'default', serviceAccount: 'default', pools });
  const objectsOf = (yaml: string) => loadAllYaml(yaml) as KubernetesObject[];

  for (const [what, pools] of [
    ['one Windows2022 pool', [{ name: 'win1', osSku: 'Windows2022' }]],
    [
      'two Windows2025 pools (node affinity)',
      [
        { name: 'win25a', osSku: 'Windows2025' },
        { name: 'win25b', osSku: 'Windows2025' },
      ],
    ],
  ] as const) {
    it(`accepts every object of the YAML for ${what}, and stores none`, async () => {
      const objects = objectsOf(workload([...pools]).yaml);
      assert.deepEqual(
        objects.map((o) => o.kind),
        ['ConfigMap', 'Deployment', 'Service'],
      );
      for (const o of objects) {
        const answer = await api.create(o, undefined, 'All');
        assert.equal(answer.metadata?.name, 'webapp01-demo', `${o.kind} accepted`);
        await assert.rejects(
          api.read({
            apiVersion: o.apiVersion,
            kind: o.kind,
            metadata: { name: 'webapp01-demo', namespace: 'default' },
          }),
          (e: unknown) => e instanceof ApiException && e.code === 404,
          `${o.kind} was not stored`,
        );
      }
    });
  }

  it('rejects a broken Deployment the same way (422: selector does not match the template)', async () => {
    const deployment = objectsOf(workload().yaml).find((o) => o.kind === 'Deployment') as KubernetesObject & {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    deployment.spec.selector.matchLabels = { app: 'something-else' };
    await assert.rejects(
      api.create(deployment, undefined, 'All'),
      (e: unknown) => e instanceof ApiException && e.code === 422 && /selector/.test(String(e.body)),
    );
  });
});
