/**
 * Ownership on the lab's real kube-apiserver (DESIGN "A shared world"): a credential spec and a ClusterRole that
 * existed before (made here through the API, without our labels) are refused untouched, adopted only when the caller
 * says so, and never deleted by a removal; a spec one binding created is another binding's to neither converge nor
 * remove.
 */
import { ApiException, CustomObjectsApi, RbacAuthorizationV1Api, type V1ClusterRole } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { buildCredentialSpec, clusterRoleName, roleBindingName } from '../../../domain/credential-spec.js';
import { bindingKey, type AdoptKind, type Owner } from '../../../domain/ownership.js';
import { activitiesFor, adminConfig, assertFailure, kubeconfigPath, specInput, uniqueSpecName } from './cluster.js';

const SPEC = { group: 'windows.k8s.io', version: 'v1', plural: 'gmsacredentialspecs' } as const;

interface Meta {
  name?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Stored {
  metadata: Meta;
  credspec: unknown;
}

const binding = (tag: string) => `gmsa-aks-gmsa-lab-${tag}-${randomBytes(6).toString('hex')}`;
const ownerOf = (id: string, adopt: AdoptKind[] = []): Owner => ({ binding: id, adopt });
const OUR_LABELS = ['app.kubernetes.io/managed-by', 'aks-gmsa.io/binding'];
const OUR_ANNOTATIONS = ['aks-gmsa.io/binding-id', 'aks-gmsa.io/adopted'];

describe('ownership of credential specs and their RBAC on a real kube-apiserver', () => {
  let activities: ReturnType<typeof activitiesFor>;
  let custom: CustomObjectsApi;
  let rbac: RbacAuthorizationV1Api;
  const cleanup: (() => Promise<unknown>)[] = [];

  const readSpec = (name: string) => custom.getClusterCustomObject({ ...SPEC, name }) as Promise<Stored>;
  const gone = (read: Promise<unknown>) =>
    assert.rejects(read, (e: unknown) => e instanceof ApiException && e.code === 404);
  const versions = async (name: string) => ({
    spec: (await readSpec(name)).metadata.resourceVersion,
    role: (await rbac.readClusterRole({ name: clusterRoleName(name) })).metadata?.resourceVersion,
  });
  const removal = (name: string, owner: Owner) => {
    const input = specInput(name);
    return activities.removeCredentialSpec({ cluster: input.cluster, specName: name, rbac: input.rbac, owner });
  };
  const labels = (name: string) => ({
    spec: `GMSACredentialSpec/${name}`,
    role: `ClusterRole/${clusterRoleName(name)}`,
    binding: `RoleBinding/default/${roleBindingName(name, 'default')}`,
  });

  /** A spec and a ClusterRole as another team (or the PowerShell module) would have made them: no marks of ours. */
  async function existing(name: string) {
    const other = specInput(name, {
      hostAccount: {
        principalId: '11111111-2222-4333-8444-555555555555',
        secretUri: 'https://kv-other.vault.azure.net/secrets/theirs',
      },
    });
    const doc = buildCredentialSpec(other);
    const meta = { labels: { team: 'web' }, annotations: { 'team.example/owner': 'web-team' } };
    await custom.createClusterCustomObject({ ...SPEC, body: { ...doc, metadata: { name, ...meta } } });
    const rules: V1ClusterRole['rules'] = [
      { apiGroups: [SPEC.group], resources: [SPEC.plural], verbs: ['use', 'get'], resourceNames: [name] },
    ];
    await rbac.createClusterRole({ body: { metadata: { name: clusterRoleName(name), ...meta }, rules } });
    cleanup.push(
      () => custom.deleteClusterCustomObject({ ...SPEC, name }),
      () => rbac.deleteClusterRole({ name: clusterRoleName(name) }),
      () => rbac.deleteNamespacedRoleBinding({ name: roleBindingName(name, 'default'), namespace: 'default' }),
    );
    return doc;
  }

  // A missing KUBECONFIG fails every test (a failing `before` would only cancel them).
  let setupError: unknown;
  before(() => {
    try {
      const kubeconfig = kubeconfigPath();
      activities = activitiesFor(kubeconfig);
      const kc = adminConfig(kubeconfig);
      custom = kc.makeApiClient(CustomObjectsApi);
      rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    } catch (e) {
      setupError = e;
    }
  });
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  after(async () => {
    for (const undo of cleanup) await undo().catch(() => undefined);
  });

  describe('an existing spec and ClusterRole, not marked as ours', () => {
    const name = uniqueSpecName('theirs');
    const a = binding('a');
    let theirs: ReturnType<typeof buildCredentialSpec>;
    let was: { spec?: string; role?: string };

    it('fails the step naming both, what marks them and the adopt values, changing nothing', async () => {
      theirs = await existing(name);
      was = await versions(name);
      const failure = await assertFailure(activities.ensureCredentialSpec(specInput(name, { owner: ownerOf(a) })), {
        nonRetryable: true,
        type: 'Conflict',
        message: new RegExp(
          `GMSACredentialSpec "${name}" exists and is not marked as aks-gmsa's \\(no owner marker\\)`,
        ),
      });
      assert.match(failure.message, new RegExp(`ClusterRole "${clusterRoleName(name)}" exists and is not marked`));
      assert.match(failure.message, /Add "credentialSpec" to options\.adopt/);
      assert.match(failure.message, /Add "rbac" to options\.adopt/);
      assert.deepEqual(await versions(name), was);
      await gone(rbac.readNamespacedRoleBinding({ name: roleBindingName(name, 'default'), namespace: 'default' }));
    });

    it('adopting only the spec is not enough: the ClusterRole is still refused, and still nothing is written', async () => {
      await assertFailure(activities.ensureCredentialSpec(specInput(name, { owner: ownerOf(a, ['credentialSpec']) })), {
        nonRetryable: true,
        type: 'Conflict',
        message: /^ClusterRole ".*-role" exists and is not marked.*"rbac"/,
      });
      assert.deepEqual(await versions(name), was);
    });

    it('a removal by the binding that failed (its rollback) leaves them, named as kept, untouched', async () => {
      const result = await removal(name, ownerOf(a));
      assert.deepEqual(result, { removed: [], kept: [labels(name).role, labels(name).spec] });
      assert.deepEqual(await versions(name), was);
    });

    it('with adopt credentialSpec and rbac: both get our content and the adopted marks, their labels kept', async () => {
      const owner = ownerOf(a, ['credentialSpec', 'rbac']);
      const result = await activities.ensureCredentialSpec(specInput(name, { owner }));
      assert.equal(result.changed, true);
      assert.deepEqual(result.adopted, ['credentialSpec', 'rbac']);
      const spec = await readSpec(name);
      assert.deepEqual(spec.credspec, buildCredentialSpec(specInput(name)).credspec);
      assert.notDeepEqual(spec.credspec, theirs.credspec);
      const role = await rbac.readClusterRole({ name: clusterRoleName(name) });
      assert.deepEqual(
        role.rules?.map((r) => r.verbs),
        [['use']],
      );
      for (const meta of [spec.metadata, role.metadata as Meta]) {
        assert.equal(meta.labels?.['app.kubernetes.io/managed-by'], 'aks-gmsa', meta.name);
        assert.equal(meta.labels?.['aks-gmsa.io/binding'], bindingKey(a), meta.name);
        assert.equal(meta.annotations?.['aks-gmsa.io/adopted'], 'true', meta.name);
        assert.equal(meta.annotations?.['aks-gmsa.io/binding-id'], a, meta.name);
        assert.equal(meta.labels?.team, 'web', meta.name);
        assert.equal(meta.annotations?.['team.example/owner'], 'web-team', meta.name);
      }
      // the RoleBinding did not exist: created, so marked as this binding's own
      const rb = await rbac.readNamespacedRoleBinding(result.roleBinding);
      assert.equal(rb.metadata?.labels?.['aks-gmsa.io/binding'], bindingKey(a));
      assert.equal(rb.metadata?.annotations?.['aks-gmsa.io/adopted'], undefined);
      was = await versions(name);
    });

    it('a rerun by the same binding (a lost reply) writes nothing and says so', async () => {
      const again = await activities.ensureCredentialSpec(
        specInput(name, { owner: ownerOf(a, ['credentialSpec', 'rbac']) }),
      );
      assert.equal(again.changed, false);
      assert.deepEqual(again.adopted, ['credentialSpec', 'rbac']);
      assert.deepEqual(await versions(name), was);
    });

    it('another binding neither converges nor removes them', async () => {
      const b = binding('b');
      await assertFailure(
        activities.ensureCredentialSpec(specInput(name, { owner: ownerOf(b, ['credentialSpec', 'rbac']) })),
        { nonRetryable: true, type: 'Conflict', message: new RegExp(`belongs to another aks-gmsa binding \\(${a}\\)`) },
      );
      const result = await removal(name, ownerOf(b));
      assert.deepEqual(result.removed, []);
      assert.deepEqual(result.kept, [labels(name).binding, labels(name).role, labels(name).spec]);
      assert.deepEqual(await versions(name), was);
    });

    it("the adopter's removal deletes only what it created and takes its marks off the adopted ones", async () => {
      const result = await removal(name, ownerOf(a));
      assert.deepEqual(result.removed, [labels(name).binding]);
      assert.deepEqual(result.kept, [
        `${labels(name).role} (adopted: aks-gmsa's marks removed)`,
        `${labels(name).spec} (adopted: aks-gmsa's marks removed)`,
      ]);
      await gone(rbac.readNamespacedRoleBinding({ name: roleBindingName(name, 'default'), namespace: 'default' }));
      const spec = await readSpec(name);
      const role = await rbac.readClusterRole({ name: clusterRoleName(name) });
      for (const meta of [spec.metadata, role.metadata as Meta]) {
        for (const l of OUR_LABELS) assert.equal(meta.labels?.[l], undefined, `${meta.name} ${l}`);
        for (const n of OUR_ANNOTATIONS) assert.equal(meta.annotations?.[n], undefined, `${meta.name} ${n}`);
        assert.equal(meta.labels?.team, 'web');
        assert.equal(meta.annotations?.['team.example/owner'], 'web-team');
      }
      // unmarked again: a binding that does not adopt is refused once more
      await assertFailure(activities.ensureCredentialSpec(specInput(name, { owner: ownerOf(a) })), {
        nonRetryable: true,
        type: 'Conflict',
        message: /not marked as aks-gmsa's \(no owner marker\)/,
      });
    });
  });

  describe('a spec binding A created', () => {
    const name = uniqueSpecName('mine');
    const a = binding('a');
    const b = binding('b');

    it('is refused to binding B, and not removed by B', async () => {
      cleanup.push(() => removal(name, ownerOf(a)));
      const created = await activities.ensureCredentialSpec(specInput(name, { owner: ownerOf(a) }));
      assert.equal(created.changed, true);
      assert.equal(created.adopted, undefined);
      const was = await versions(name);
      await assertFailure(activities.ensureCredentialSpec(specInput(name, { owner: ownerOf(b) })), {
        nonRetryable: true,
        type: 'Conflict',
        message: new RegExp(`GMSACredentialSpec "${name}" exists and belongs to another aks-gmsa binding \\(${a}\\)`),
      });
      const result = await removal(name, ownerOf(b));
      assert.deepEqual(result, { removed: [], kept: [labels(name).binding, labels(name).role, labels(name).spec] });
      assert.deepEqual(await versions(name), was);
    });

    it('is removed by A, with its RBAC', async () => {
      const result = await removal(name, ownerOf(a));
      assert.deepEqual(result, { removed: [labels(name).binding, labels(name).role, labels(name).spec], kept: [] });
      await gone(readSpec(name));
      await gone(rbac.readClusterRole({ name: clusterRoleName(name) }));
    });
  });
});
