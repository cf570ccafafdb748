/**
 * Median time of each Kubernetes activity against the lab's real kube-apiserver (figures, not a timed test).
 *   tsx bench/kubernetes.ts [rounds]     uses KUBECONFIG, or starts the lab cluster (and reports how long that took)
 * Each round uses a fresh spec name: create (3 objects), rerun (3 reads, no write), replace (spec changed),
 * SubjectAccessReview, remove.
 */
import { performance } from 'node:perf_hooks';
import { createKubernetesActivities, kubeconfigFromFile } from '../activities/kubernetes.js';
import { kubernetesLab } from '../lab/kubernetes/index.js';
import { specInput } from '../lab/kubernetes/spec-input.js';

const rounds = Number(process.argv[2] ?? 20);

let kubeconfig = process.env.KUBECONFIG;
if (!kubeconfig) {
  const t0 = performance.now();
  kubeconfig = (await kubernetesLab.start()).KUBECONFIG;
  console.log(`lab cluster start (build cached, CRD installed): ${Math.round(performance.now() - t0)} ms`);
}
if (!kubeconfig) throw new Error('no KUBECONFIG');

const activities = createKubernetesActivities({ kubeconfigFor: kubeconfigFromFile(kubeconfig) });
// Outside a workflow the activities are told whom they act for: one binding for the whole bench.
const owner = { binding: 'bench-kubernetes-000000000000', adopt: [] };
const base = (specName: string) => ({ ...specInput(specName), owner });

const samples: Record<string, number[]> = {};
async function timed<T>(name: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await run();
  (samples[name] ??= []).push(performance.now() - t0);
  return result;
}

const prefix = `bench-${Date.now().toString(36)}`;
for (let i = 0; i < rounds; i++) {
  const input = base(`${prefix}-${i}`);
  const created = await timed('ensureCredentialSpec (create)', () => activities.ensureCredentialSpec(input));
  const rerun = await timed('ensureCredentialSpec (rerun, no change)', () => activities.ensureCredentialSpec(input));
  if (!created.changed || rerun.changed) throw new Error('unexpected: create did not change or rerun changed');
  await timed('ensureCredentialSpec (replace spec)', () =>
    activities.ensureCredentialSpec({
      ...input,
      hostAccount: { ...input.hostAccount, principalId: '0b7e2d4c-1111-4222-8333-944455556666' },
    }),
  );
  const verdict = await timed('canUseCredentialSpec (SubjectAccessReview)', () =>
    activities.canUseCredentialSpec({ cluster: input.cluster, specName: input.specName, ...input.rbac }),
  );
  if (!verdict.allowed) throw new Error(`unexpected: not allowed: ${verdict.reason}`);
  await timed('removeCredentialSpec', () =>
    activities.removeCredentialSpec({ cluster: input.cluster, specName: input.specName, rbac: input.rbac, owner }),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
console.log(`Kubernetes activities, ${rounds} rounds, median (min-max) in ms:`);
const create = median(samples['ensureCredentialSpec (create)'] ?? [0]);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  console.log(
    `  ${name.padEnd(45)} ${m.toFixed(1).padStart(7)}  (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})` +
      `  ${(m / create).toFixed(2)}x create`,
  );
}
