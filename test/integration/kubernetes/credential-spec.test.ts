/**
 * ensureCredentialSpec, removeCredentialSpec and canUseCredentialSpec against the lab's real kube-apiserver (RBAC
 * authorizer, the GMSACredentialSpec CRD installed): what is stored and how it is marked, that a rerun writes
 * nothing, and that the API server itself grants `use` to the bound service account only. (Existing objects, other
 * bindings and adoption: ownership.test.ts.)
 */
import { ApiException, CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createKubernetesActivities } from '../../../activities/kubernetes.js';
import { buildCredentialSpec } from '../../../domain/credential-spec.js';
import { bindingKey } from '../../../domain/ownership.js';
import type { CredentialSpecResult } from '../../../contract/activities.js';
import {
  activitiesFor,
  adminConfig,
  assertFailure,
  kubeconfigPath,
  specInput as labSpecInput,
  uniqueSpecName,
} from './cluster.js';

const SPEC = { group: 'windows.k8s.io', version: 'v1', plural: 'gmsacredentialspecs' } as const;

interface Stored {
  metadata: {
    name: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  credspec: unknown;
}

// Outside a workflow there is no workflow id to take the binding from: every call names its owner.
const owner = { binding: `gmsa-it-${randomBytes(6).toString('hex')}`, adopt: [] };
const specInput = (name: string) => labSpecInput(name, { owner });

describe('GMSACredentialSpec on a real kube-apiserver', () => {
  let kubeconfig: string;
  let activities: ReturnType<typeof activitiesFor>;
  let custom: CustomObjectsApi;
  let rbac: RbacAuthorizationV1Api;
  const specName = uniqueSpecName('it');
  const input = specInput(specName);
  let first: CredentialSpecResult;

  const readSpec = (name = specName) => custom.getClusterCustomObject({ ...SPEC, name }) as Promise<Stored>;

  // A missing KUBECONFIG fails every test (a failing `before` would only cancel them).
  let setupError: unknown;
  before(() => {
    try {
      kubeconfig = kubeconfigPath();
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
    if (activities)
      await activities.removeCredentialSpec({ cluster: input.cluster, specName, rbac: input.rbac, owner });
  });

  it('creates the spec, a ClusterRole allowing `use` of it, and the RoleBinding', async () => {
    first = await activities.ensureCredentialSpec(input);
    assert.equal(first.changed, true);
    assert.equal(first.name, specName);
    assert.ok(first.resourceVersion);
    assert.equal(first.clusterRole, `${specName}-role`);
    assert.deepEqual(first.roleBinding, {
      namespace: 'default',
      name: `allow-default-svc-account-read-on-${specName}`,
    });

    const stored = await readSpec();
    assert.equal(stored.metadata.resourceVersion, first.resourceVersion);
    const role = await rbac.readClusterRole({ name: first.clusterRole });
    assert.deepEqual(
      role.rules?.map((r) => ({ ...r })),
      [
        {
          apiGroups: ['windows.k8s.io'],
          resources: ['gmsacredentialspecs'],
          verbs: ['use'],
          resourceNames: [specName],
        },
      ],
    );
    const binding = await rbac.readNamespacedRoleBinding(first.roleBinding);
    assert.deepEqual(
      { ...binding.roleRef },
      {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: first.clusterRole,
      },
    );
    assert.deepEqual(
      binding.subjects?.map((x) => ({ ...x })),
      [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }],
    );
  });

  it("marks all three as this binding's in the create: managed-by and binding labels, the binding's id", async () => {
    const metas = [
      (await readSpec()).metadata,
      (await rbac.readClusterRole({ name: first.clusterRole })).metadata,
      (await rbac.readNamespacedRoleBinding(first.roleBinding)).metadata,
    ];
    for (const meta of metas) {
      assert.equal(meta?.labels?.['app.kubernetes.io/managed-by'], 'aks-gmsa', meta?.name);
      assert.equal(meta?.labels?.['aks-gmsa.io/binding'], bindingKey(owner.binding), meta?.name);
      assert.equal(meta?.annotations?.['aks-gmsa.io/binding-id'], owner.binding, meta?.name);
      assert.equal(meta?.annotations?.['aks-gmsa.io/adopted'], undefined, meta?.name);
    }
    assert.equal(first.adopted, undefined);
  });

  it('stores the document unchanged: it passes the CRD schema with nothing pruned', async () => {
    // The CRD schema is structural: a field it does not name would be pruned on the way in, so an exact round trip
    // is the proof that every field of the document is one the schema (and so the webhook) knows.
    const stored = await readSpec();
    assert.deepEqual(stored.credspec, buildCredentialSpec(input).credspec);
    assert.equal(stored.metadata.labels?.['app.kubernetes.io/managed-by'], 'aks-gmsa');
  });

  it('is checked by that schema: the same server refuses a misspelt field and a wrong type', async () => {
    const doc = buildCredentialSpec(input);
    const attempt = async (credspec: unknown) => {
      try {
        await custom.createClusterCustomObject({
          ...SPEC,
          body: { ...doc, metadata: { name: `${specName}-bad` }, credspec },
          dryRun: 'All',
          fieldValidation: 'Strict',
        });
      } catch (e) {
        assert.ok(e instanceof ApiException, String(e));
        return e.code;
      }
      return 201;
    };
    assert.equal(await attempt({ ...doc.credspec, CmsPlugin: ['ActiveDirectory'] }), 400); // unknown field, strict
    assert.equal(await attempt({ ...doc.credspec, CmsPlugins: 'ActiveDirectory' }), 422); // not an array
    assert.equal(await attempt(doc.credspec), 201); // control: the real document passes the same checks
  });

  it('changes nothing on a rerun: same resourceVersion everywhere', async () => {
    const roleBefore = await rbac.readClusterRole({ name: first.clusterRole });
    const bindingBefore = await rbac.readNamespacedRoleBinding(first.roleBinding);
    const again = await activities.ensureCredentialSpec(input);
    assert.deepEqual(again, { ...first, changed: false });
    assert.equal((await readSpec()).metadata.resourceVersion, first.resourceVersion);
    assert.equal(
      (await rbac.readClusterRole({ name: first.clusterRole })).metadata?.resourceVersion,
      roleBefore.metadata?.resourceVersion,
    );
    assert.equal(
      (await rbac.readNamespacedRoleBinding(first.roleBinding)).metadata?.resourceVersion,
      bindingBefore.metadata?.resourceVersion,
    );
  });

  it('replaces the spec when the input changed (a new managed identity)', async () => {
    const principalId = '0b7e2d4c-1111-4222-8333-944455556666';
    const changed = await activities.ensureCredentialSpec({
      ...input,
      hostAccount: { ...input.hostAccount, principalId },
      owner,
    });
    assert.equal(changed.changed, true);
    assert.notEqual(changed.resourceVersion, first.resourceVersion);
    const stored = (await readSpec()) as Stored & {
      credspec: { ActiveDirectoryConfig: { HostAccountConfig: { PluginInput: string } } };
    };
    assert.equal(stored.metadata.resourceVersion, changed.resourceVersion);
    assert.equal(
      stored.credspec.ActiveDirectoryConfig.HostAccountConfig.PluginInput,
      `ObjectId=${principalId};SecretUri=${input.hostAccount.secretUri}`,
    );
    // and back, so the next tests see the original document
    assert.equal((await activities.ensureCredentialSpec(input)).changed, true);
  });

  it('converges a spec someone edited by hand back to the document', async () => {
    const stored = (await readSpec()) as Stored & { credspec: { DomainJoinConfig: { Sid: string } } };
    stored.credspec.DomainJoinConfig.Sid = 'S-1-5-21-1-2-3';
    await custom.replaceClusterCustomObject({ ...SPEC, name: specName, body: stored });
    const result = await activities.ensureCredentialSpec(input);
    assert.equal(result.changed, true);
    assert.deepEqual((await readSpec()).credspec, buildCredentialSpec(input).credspec);
  });

  it('lets the bound service account `use` the spec, and no other (SubjectAccessReview by the API server)', async () => {
    const ask = (namespace: string, serviceAccount: string, name = specName) =>
      activities.canUseCredentialSpec({ cluster: input.cluster, specName: name, namespace, serviceAccount });
    const bound = await ask('default', 'default');
    assert.equal(bound.allowed, true, bound.reason);
    assert.match(bound.reason, new RegExp(first.roleBinding.name)); // the RBAC authorizer names the binding
    for (const [ns, sa, name] of [
      ['default', 'other'],
      ['kube-system', 'default'],
      ['default', 'default', `${specName}-other`],
    ] as const) {
      const denied = await ask(ns, sa, name);
      assert.equal(denied.allowed, false, `${ns}/${sa} on ${name ?? specName}: ${denied.reason}`);
    }
  });

  it('binds a service account in another namespace when asked, leaving the spec and the first binding alone', async () => {
    const specVersion = (await readSpec()).metadata.resourceVersion;
    const other = await activities.ensureCredentialSpec({
      ...input,
      rbac: { namespace: 'kube-public', serviceAccount: 'reader' },
      owner,
    });
    try {
      assert.equal(other.changed, true);
      assert.equal(other.resourceVersion, specVersion); // only the new binding was written
      const ask = (namespace: string, serviceAccount: string) =>
        activities.canUseCredentialSpec({ cluster: input.cluster, specName, namespace, serviceAccount });
      assert.equal((await ask('kube-public', 'reader')).allowed, true);
      assert.equal((await ask('default', 'default')).allowed, true);
      assert.equal((await ask('kube-public', 'default')).allowed, false);
    } finally {
      await rbac.deleteNamespacedRoleBinding(other.roleBinding);
    }
  });

  it('fails at once, naming the namespace, when the namespace does not exist', async () => {
    await assertFailure(
      activities.ensureCredentialSpec({
        ...input,
        rbac: { namespace: 'no-such-namespace', serviceAccount: 'default' },
        owner,
      }),
      { nonRetryable: true, type: 'NotFound', message: /namespace "no-such-namespace" does not exist/ },
    );
  });

  it('refuses a ClusterRole of that name that another tool manages', async () => {
    const name = uniqueSpecName('owned');
    await rbac.createClusterRole({
      body: { metadata: { name: `${name}-role`, labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, rules: [] },
    });
    try {
      await assertFailure(activities.ensureCredentialSpec(specInput(name)), {
        nonRetryable: true,
        type: 'Conflict',
        message: /ClusterRole "owned-.*-role" exists and is managed by "Helm"/,
      });
      // checked before any write: not even the spec was created
      await assert.rejects(readSpec(name), (e: unknown) => e instanceof ApiException && e.code === 404);
    } finally {
      await rbac.deleteClusterRole({ name: `${name}-role` });
      await activities.removeCredentialSpec({ cluster: input.cluster, specName: name, rbac: input.rbac, owner });
    }
  });

  it('reports an unreachable API server as retryable', async () => {
    const closedPort = readFileSync(kubeconfig, 'utf8').replace(/server: \S+/, 'server: https://127.0.0.1:1');
    const offline = createKubernetesActivities({ kubeconfigFor: async () => closedPort });
    await assertFailure(offline.ensureCredentialSpec(input), {
      nonRetryable: false,
      type: 'Transient',
      message: /cannot reach https:\/\/127\.0\.0\.1:1/,
    });
  });

  it('removes what it created, and a second removal finds nothing', async () => {
    const removed = await activities.removeCredentialSpec({
      cluster: input.cluster,
      specName,
      rbac: input.rbac,
      owner,
    });
    assert.deepEqual(removed.removed.sort(), [
      `ClusterRole/${specName}-role`,
      `GMSACredentialSpec/${specName}`,
      `RoleBinding/default/allow-default-svc-account-read-on-${specName}`,
    ]);
    await assert.rejects(readSpec(), (e: unknown) => e instanceof ApiException && e.code === 404);
    assert.deepEqual(
      await activities.removeCredentialSpec({ cluster: input.cluster, specName, rbac: input.rbac, owner }),
      {
        removed: [],
        kept: [],
      },
    );
  });
});
