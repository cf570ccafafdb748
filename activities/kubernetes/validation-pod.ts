/**
 * runValidationPod (validate mode "pod"): a Windows pod that uses the credential spec, in the binding's namespace
 * as its service account, on one of its Windows pools, runs the checks of Start-GMSACredentialSpecValidation
 * (domain/validation-output.ts). Its log is judged check by check, never by the exit code. The pod is the
 * binding's (labels, domain/ownership.ts), named per binding and run, and removed afterwards whatever happened; a
 * pod of ours left by a dead attempt of this run is reused, one of another run is replaced.
 *
 * Without a node that can run it (the lab: an API server and no nodes), it fails after `timeoutSeconds` saying
 * so: the pod stayed Pending, and which node selector no node matches.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { ErrorType, fatal } from '../../contract/errors.js';
import type { ValidationActivities, ValidationPodInput, ValidationPodResult } from '../../contract/validation.js';
import { bindingKey, bindingMeta, K8S_BINDING_LABEL, K8S_MANAGED_BY_LABEL, PRODUCT } from '../../domain/ownership.js';
import { describeChecks, judgeValidationLog, validationScript } from '../../domain/validation-output.js';
import { UnsupportedWindowsSku, windowsImagesFor } from '../../domain/windows-image.js';
import { activityContext, beat } from '../keep-alive.js';
import { connect, type KubernetesActivityDeps } from './client.js';
import { readOrUndefined, toFailure } from './errors.js';

const COMPONENT_LABEL = 'app.kubernetes.io/component';
const COMPONENT = 'gmsa-validation';
const CONTAINER = 'validate';
const POLL_MS = 2_000;

/** AKS's taints for Windows pools (its docs' `os=windows:NoSchedule`, and the well-known label keys). */
const WINDOWS_TOLERATIONS = ['os', 'kubernetes.io/os', 'node.kubernetes.io/os'].map((key) => ({
  key,
  operator: 'Equal',
  value: 'windows',
  effect: 'NoSchedule',
}));

/** `aks-gmsa-validate-<binding key>-<run>`: one per binding and run, within a DNS label's 63 characters. */
export function validationPodName(binding: string, run: string): string {
  const tail =
    run
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 8) || 'run';
  return `aks-gmsa-validate-${bindingKey(binding)}-${tail}`;
}

export function validationPodManifest(input: ValidationPodInput, binding: string, image: string): V1Pod {
  const meta = bindingMeta(binding);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: validationPodName(binding, input.run),
      namespace: input.namespace,
      labels: { ...meta.labels, [COMPONENT_LABEL]: COMPONENT },
      annotations: { ...meta.annotations, 'aks-gmsa.io/credential-spec': input.specName },
    },
    spec: {
      os: { name: 'windows' },
      restartPolicy: 'Never',
      serviceAccountName: input.serviceAccount,
      automountServiceAccountToken: false,
      securityContext: { windowsOptions: { gmsaCredentialSpecName: input.specName } },
      nodeSelector: nodeSelectorOf(input),
      tolerations: WINDOWS_TOLERATIONS,
      // The kubelet's own bound, should this activity die before it removes the pod.
      activeDeadlineSeconds: input.timeoutSeconds + 300,
      containers: [
        {
          name: CONTAINER,
          image,
          command: [
            'powershell.exe',
            '-NoLogo',
            '-NoProfile',
            '-NonInteractive',
            '-Command',
            validationScript(input.domainFqdn),
          ],
          resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
        },
      ],
    },
  };
}

const nodeSelectorOf = (input: ValidationPodInput) => ({ 'kubernetes.io/os': 'windows', agentpool: input.pool.name });
const selectorText = (s: Record<string, string>) =>
  Object.entries(s)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** Waits `ms`, or throws when the activity is cancelled. */
async function pause(ms: number): Promise<void> {
  const ctx = activityContext();
  if (ctx) await ctx.sleep(ms);
  else await new Promise((r) => setTimeout(r, ms));
}

const done = (p: V1Pod | undefined) => p?.status?.phase === 'Succeeded' || p?.status?.phase === 'Failed';

export function createValidationPodActivities(deps: KubernetesActivityDeps): ValidationActivities {
  async function runValidationPod(input: ValidationPodInput): Promise<ValidationPodResult> {
    if (!input.owner) throw fatal(ErrorType.InvalidInput, 'runValidationPod needs the binding as its owner');
    if (!Number.isFinite(input.timeoutSeconds) || input.timeoutSeconds < 1 || input.timeoutSeconds > 3600) {
      throw fatal(ErrorType.InvalidInput, `timeoutSeconds must be 1 to 3600, not ${input.timeoutSeconds}`);
    }
    let image: string;
    try {
      image = windowsImagesFor(input.pool.osSku, input.pool.name).serverCore;
    } catch (e) {
      if (e instanceof UnsupportedWindowsSku) throw fatal(ErrorType.PreconditionFailed, e.message);
      throw e;
    }
    const binding = input.owner.binding;
    const manifest = validationPodManifest(input, binding, image);
    const name = manifest.metadata!.name!;
    const namespace = input.namespace;
    const what = `validation pod ${namespace}/${name}`;
    const { core, server } = await connect(deps, input.cluster);
    const call = async <T>(doing: string, f: () => Promise<T>): Promise<T> => {
      try {
        return await f();
      } catch (e) {
        throw toFailure(e, doing, server);
      }
    };

    // Pods of this binding from other runs: a worker that died before its cleanup left them.
    const selector = `${K8S_MANAGED_BY_LABEL}=${PRODUCT},${K8S_BINDING_LABEL}=${bindingKey(binding)},${COMPONENT_LABEL}=${COMPONENT}`;
    const stale = await call(`listing the validation pods in ${namespace}`, () =>
      core.listNamespacedPod({ namespace, labelSelector: selector }),
    );
    for (const p of stale.items) {
      if (p.metadata?.name && p.metadata.name !== name) await removePod(core, namespace, p.metadata.name);
    }

    let pod = await call(`reading ${what}`, () => readOrUndefined(() => core.readNamespacedPod({ name, namespace })));
    const reused = pod !== undefined;
    if (pod) {
      const labels = pod.metadata?.labels;
      if (labels?.[K8S_MANAGED_BY_LABEL] !== PRODUCT || labels[K8S_BINDING_LABEL] !== bindingKey(binding)) {
        throw fatal(
          ErrorType.Conflict,
          `pod ${namespace}/${name} exists and is not this binding's validation pod; nothing was changed. Remove ` +
            'it, or run the validation again (a new run uses a new name)',
        );
      }
    } else {
      pod = await call(`creating ${what}`, () => core.createNamespacedPod({ namespace, body: manifest }));
    }

    try {
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      while (!done(pod) && Date.now() < deadline) {
        beat({ pod: name, phase: pod?.status?.phase ?? 'Pending' });
        await pause(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
        pod = await call(`reading ${what}`, () => core.readNamespacedPod({ name, namespace }));
      }
      if (!done(pod)) throw fatal(ErrorType.PreconditionFailed, await whyNotRun(core, pod!, input, what));

      const log = await call(`reading the log of ${what}`, () =>
        core.readNamespacedPodLog({ name, namespace, container: CONTAINER }),
      );
      const checks = judgeValidationLog(String(log ?? ''), {
        domainFqdn: input.domainFqdn,
        gmsaName: input.gmsaName,
      });
      const node = pod!.spec?.nodeName;
      const failed = checks.filter((c) => !c.ok);
      if (failed.length > 0) {
        throw fatal(
          ErrorType.PreconditionFailed,
          `${what}${node ? ` on node ${node}` : ''}: ${describeChecks(checks)}`,
        );
      }
      return { pod: name, namespace, node, image, checks, reused };
    } finally {
      // Removed whatever happened: passed, failed, timed out or cancelled.
      await removePod(core, namespace, name);
    }
  }
  return { runValidationPod };
}

/** Deletes the pod at once; absent already is fine, and a failure to delete never hides the run's own outcome. */
async function removePod(core: CoreV1Api, namespace: string, name: string): Promise<void> {
  try {
    await readOrUndefined(() => core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }));
  } catch {
    // activeDeadlineSeconds bounds a pod this could not delete; the next run replaces it.
  }
}

/** The reason a pod did not finish in time, from what the API server knows: no node, or what its container waits on. */
async function whyNotRun(core: CoreV1Api, pod: V1Pod, input: ValidationPodInput, what: string): Promise<string> {
  const phase = pod.status?.phase ?? 'Pending';
  const head = `${what} did not finish within ${input.timeoutSeconds} s: it is ${phase}`;
  // As written (the API server hands the map back sorted).
  const selector = nodeSelectorOf(input);
  if (!pod.spec?.nodeName) {
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    let nodes: string;
    try {
      const matching = await core.listNode({ labelSelector: selectorText(selector) });
      nodes =
        matching.items.length === 0
          ? `no node matches its node selector ${selectorText(selector)} (no Windows node of pool ${input.pool.name})`
          : `${matching.items.length} node(s) match its node selector ${selectorText(selector)} but none took it`;
    } catch (e) {
      nodes = `its node selector is ${selectorText(selector)} (the nodes could not be listed: ${(e as Error).message})`;
    }
    const sched = scheduled?.message ? `; the scheduler says: ${scheduled.message}` : '';
    return `${head}, on no node: ${nodes}${sched}`;
  }
  const waiting = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER)?.state?.waiting;
  let events = '';
  try {
    const list = await core.listNamespacedEvent({
      namespace: input.namespace,
      fieldSelector: `involvedObject.name=${pod.metadata?.name}`,
    });
    const warnings = list.items.filter((e) => e.type === 'Warning').slice(-3);
    if (warnings.length) events = `; events: ${warnings.map((e) => `${e.reason}: ${e.message}`).join(' | ')}`;
  } catch {
    // Events are a hint only.
  }
  const state = waiting
    ? `, its container waiting (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''})`
    : '';
  return `${head} on node ${pod.spec.nodeName}${state}${events}`;
}
