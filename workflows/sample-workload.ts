/**
 * gmsaSampleWorkload (`GET /v1/provisionings/{id}/sample-workload`, id `<binding>.sample`): the binding's sample
 * Deployment as YAML (Get-GMSASampleApplicationYAML parity, domain/sample-workload.ts). It reads the binding for
 * the spec, namespace, service account and pools, and the cluster for each pool's OS SKU, which picks the image.
 */
import type { ClusterFacts } from '../contract/inspection.js';
import type { BindingRecord, SampleWorkloadInput, SampleWorkloadResult } from '../contract/operations.js';
import { buildSampleWorkload } from '../domain/sample-workload.js';
import { UnsupportedWindowsSku } from '../domain/windows-image.js';
import { readBindingPolicy, requestOf, runOperation } from './operation.js';
import { graph, refuse, stepsFor } from './runner.js';
import { quick } from './step-policies.js';

interface SampleResults {
  readBinding: BindingRecord;
  inspectCluster: ClusterFacts;
  sampleWorkload: SampleWorkloadResult;
}

const step = stepsFor<SampleWorkloadInput, SampleResults>();

export const sampleWorkloadSteps = graph<SampleWorkloadInput, SampleResults>([
  step.activity('readBinding', {
    needs: [],
    policy: readBindingPolicy,
    describe: (i) => `read binding ${i.bindingId}`,
    input: (i) => ({ bindingId: i.bindingId }),
    summary: (b) => `provisioning ${b.status.toLowerCase()} (run ${b.runId})`,
  }),
  step.activity('inspectCluster', {
    needs: ['readBinding'],
    policy: quick,
    describe: () => "read the cluster's node pools",
    input: (_i, { readBinding: b }) => ({ cluster: requestOf(b).cluster }),
    summary: (f) => `${f.pools.length} node pools`,
  }),
  step.workflow('sampleWorkload', {
    needs: ['readBinding', 'inspectCluster'],
    run: async (_i, { readBinding: b, inspectCluster: facts }) => {
      const r = requestOf(b);
      const pools = r.cluster.windowsNodePools.map((name) => {
        const pool = facts.pools.find((p) => p.name.toLowerCase() === name.toLowerCase());
        if (!pool) throw refuse(`node pool ${name} of binding ${b.bindingId} is not on cluster ${r.cluster.name}`);
        if (pool.osType !== 'Windows') throw refuse(`node pool ${name} runs ${pool.osType}, not Windows`);
        return { name: pool.name, osSku: pool.osSku };
      });
      if (pools.length === 0) throw refuse(`binding ${b.bindingId} names no Windows node pool`);
      try {
        const w = buildSampleWorkload({
          specName: r.gmsa.credentialSpecName,
          namespace: r.options.rbac.namespace,
          serviceAccount: r.options.rbac.serviceAccount,
          pools,
        });
        return { yaml: w.yaml, image: w.image, nodeSelector: w.nodeSelector };
      } catch (e) {
        if (e instanceof UnsupportedWindowsSku) throw refuse(e.message);
        throw e;
      }
    },
    summary: (s) => `Deployment with ${s.image}`,
  }),
]);

export async function gmsaSampleWorkload(input: SampleWorkloadInput): Promise<SampleWorkloadResult> {
  return runOperation({
    names: ['readBinding', 'inspectCluster', 'sampleWorkload'] as const,
    graph: sampleWorkloadSteps,
    input,
    context: {},
    outputs: (r) => r.sampleWorkload,
  });
}
