/**
 * deploy/kubernetes (Kustomize) rendered by kustomize itself, as `kubectl apply -k` renders it, and every object
 * sent to the lab's kube-apiserver with a server-side dry run: the API server's own validation accepts them. The
 * rendered pods are also held to what the deployment promises: non-root, read-only root file system, no
 * privilege, probes on /healthz and /readyz for the API, Azure workload identity for the worker, secrets only by
 * reference.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ApiException,
  CoreV1Api,
  KubernetesObjectApi,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../../lab/paths.js';
import { adminConfig, kubeconfigPath } from './cluster.js';

type Doc = KubernetesObject & { data?: Record<string, string>; spec?: Record<string, unknown> };

function render(): Doc[] {
  const kustomize = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'kustomize-toolchain.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60_000,
  }).trim();
  const yaml = execFileSync(kustomize, ['build', path.join(PROJECT_ROOT, 'deploy', 'kubernetes')], {
    encoding: 'utf8',
  });
  return parseAllDocuments(yaml).map((d) => d.toJS() as Doc);
}

describe('deploy/kubernetes', () => {
  const kc = adminConfig(kubeconfigPath());
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const scratch = `aks-gmsa-deploy-${Date.now().toString(36)}`;
  let docs: Doc[] = [];
  const of = (kind: string, name: string) => {
    const d = docs.find((x) => x.kind === kind && x.metadata?.name === name);
    assert.ok(d, `${kind}/${name} is rendered`);
    return d;
  };

  before(async () => {
    docs = render();
    // Namespaced objects are dry-run into a namespace of this run's own: the dry run needs it to exist.
    await core.createNamespace({ body: { metadata: { name: scratch } } });
  });
  after(async () => {
    await core.deleteNamespace({ name: scratch }).catch(() => undefined);
  });

  it('renders the namespace, service accounts, settings, both deployments, the budget and the service', () => {
    assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata?.name}`).sort(), [
      'ConfigMap/aks-gmsa-settings',
      'Deployment/aks-gmsa-api',
      'Deployment/aks-gmsa-worker',
      'Namespace/aks-gmsa',
      'PodDisruptionBudget/aks-gmsa-worker',
      'Service/aks-gmsa-api',
      'ServiceAccount/aks-gmsa-api',
      'ServiceAccount/aks-gmsa-worker',
    ]);
    for (const d of docs.filter((x) => x.kind !== 'Namespace')) assert.equal(d.metadata?.namespace, 'aks-gmsa');
  });

  it('runs every container non-root, read-only, without privilege, with secrets only by reference', () => {
    for (const name of ['aks-gmsa-worker', 'aks-gmsa-api']) {
      const pod = (of('Deployment', name) as V1Deployment).spec!.template.spec!;
      assert.equal(pod.securityContext?.runAsNonRoot, true, name);
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', name);
      for (const c of pod.containers) {
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${name}/${c.name}`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${name}/${c.name}`);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${name}/${c.name}`);
        assert.match(c.image ?? '', /^ghcr\.io\/example\/aks-gmsa:\d/, 'the kustomization sets the image');
        for (const e of c.env ?? []) {
          if (!e.name.endsWith('_FILE') && /PASSWORD|TOKENS|KEYS?$|SECRET/.test(e.name))
            assert.ok(e.valueFrom?.secretKeyRef, `${name} takes ${e.name} from a Secret, not a literal`);
        }
        // Every *_FILE the container names lies under a mounted Secret volume.
        const secretMounts = (c.volumeMounts ?? []).filter((m) =>
          pod.volumes?.some((v) => v.name === m.name && v.secret),
        );
        for (const e of (c.env ?? []).filter((x) => x.name.endsWith('_FILE'))) {
          assert.ok(
            secretMounts.some((m) => e.value?.startsWith(`${m.mountPath}/`)),
            `${name}: ${e.name} is in a Secret volume`,
          );
        }
      }
    }
  });

  it('probes the API on /healthz and /readyz, and gives the worker workload identity and its grace', () => {
    const api = (of('Deployment', 'aks-gmsa-api') as V1Deployment).spec!.template.spec!.containers[0]!;
    assert.equal(api.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(api.readinessProbe?.httpGet?.path, '/readyz');
    const worker = of('Deployment', 'aks-gmsa-worker') as V1Deployment;
    const pod = worker.spec!.template;
    assert.equal(pod.metadata?.labels?.['azure.workload.identity/use'], 'true');
    assert.equal(pod.spec?.serviceAccountName, 'aks-gmsa-worker');
    assert.ok(of('ServiceAccount', 'aks-gmsa-worker').metadata?.annotations?.['azure.workload.identity/client-id']);
    const settings = of('ConfigMap', 'aks-gmsa-settings').data as Record<string, string>;
    assert.equal(settings.AZURE_CREDENTIAL, 'workload-identity');
    assert.ok(pod.spec!.terminationGracePeriodSeconds! > Number(settings.GMSA_SHUTDOWN_GRACE_SECONDS));
    assert.equal(worker.spec!.replicas, 2);
  });

  it('is accepted by the API server (server-side dry run), which refuses a broken copy', async () => {
    for (const d of docs) {
      const body = d.kind === 'Namespace' ? d : { ...d, metadata: { ...d.metadata, namespace: scratch } };
      await objects.create(body, undefined, 'All').catch((e: unknown) => {
        const detail = e instanceof ApiException ? `${e.code} ${String(e.body).slice(0, 400)}` : String(e);
        assert.fail(`${d.kind}/${d.metadata?.name} refused: ${detail}`);
      });
    }
    const worker = of('Deployment', 'aks-gmsa-worker');
    const broken = {
      ...worker,
      metadata: { ...worker.metadata, namespace: scratch },
      spec: { ...worker.spec, replicas: 'two' },
    };
    const code = await objects.create(broken, undefined, 'All').then(
      () => 201,
      (e: unknown) => (e instanceof ApiException ? e.code : 0),
    );
    assert.ok(code === 400 || code === 422, `a Deployment with replicas "two" is refused (got ${code})`);
  });
});
