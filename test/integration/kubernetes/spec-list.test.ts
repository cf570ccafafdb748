/**
 * listCredentialSpecs on the lab's real kube-apiserver: every GMSACredentialSpec is listed, a binding's with its
 * binding id, a foreign one (made here through the API, without our marks) as not ours; a spec removed is no longer
 * listed. Deprovision decides by this whether gMSA on the cluster may go.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createSpecListActivities } from '../../../activities/kubernetes/spec-list.js';
import { kubeconfigFromFile } from '../../../activities/kubernetes/client.js';
import { buildCredentialSpec } from '../../../domain/credential-spec.js';
import { activitiesFor, adminConfig, kubeconfigPath, specInput, uniqueSpecName } from './cluster.js';

const SPEC = { group: 'windows.k8s.io', version: 'v1', plural: 'gmsacredentialspecs' } as const;

describe('listCredentialSpecs on a real kube-apiserver', () => {
  let custom: CustomObjectsApi;
  let activities: ReturnType<typeof activitiesFor>;
  let list: ReturnType<typeof createSpecListActivities>['listCredentialSpecs'];
  const cleanup: (() => Promise<unknown>)[] = [];

  before(() => {
    const file = kubeconfigPath();
    custom = adminConfig(file).makeApiClient(CustomObjectsApi);
    activities = activitiesFor(file);
    list = createSpecListActivities({ kubeconfigFor: kubeconfigFromFile(file) }).listCredentialSpecs;
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('lists ours with the binding id and foreign ones as not ours; a removed one is gone from the list', async () => {
    const binding = `gmsa-aks-gmsa-lab-list-${randomBytes(6).toString('hex')}`;
    const ours = uniqueSpecName('list-ours');
    const foreign = uniqueSpecName('list-foreign');
    const input = specInput(ours, { owner: { binding, adopt: [] } });
    await activities.ensureCredentialSpec(input);
    cleanup.push(() =>
      activities.removeCredentialSpec({ cluster: input.cluster, specName: ours, rbac: input.rbac, owner: input.owner }),
    );
    const doc = buildCredentialSpec(specInput(foreign));
    await custom.createClusterCustomObject({
      ...SPEC,
      body: { ...doc, metadata: { name: foreign, labels: { team: 'web' } } },
    });
    cleanup.push(() => custom.deleteClusterCustomObject({ ...SPEC, name: foreign }));

    const { specs } = await list({ cluster: input.cluster });
    assert.deepEqual(
      specs.find((s) => s.name === ours),
      { name: ours, ours: true, binding },
    );
    assert.deepEqual(
      specs.find((s) => s.name === foreign),
      { name: foreign, ours: false },
    );

    await activities.removeCredentialSpec({
      cluster: input.cluster,
      specName: ours,
      rbac: input.rbac,
      owner: input.owner,
    });
    const after = await list({ cluster: input.cluster });
    assert.ok(!after.specs.some((s) => s.name === ours), 'removed: no longer listed');
    assert.ok(
      after.specs.some((s) => s.name === foreign),
      'the foreign one stays',
    );
  });
});
