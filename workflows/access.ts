/**
 * gmsaAccess (issue 12 item 5, served by `GET /v1/provisionings/{id}/access`): every node pool of the binding's
 * cluster with the identities on its scale set, every principal that may read the binding's secret, and whether
 * each should (domain/access-report.ts). Read-only; it runs on the worker because the worker holds the Azure
 * credentials. Its result is the answer.
 */
import type { ClusterFacts, ListSecretReadersResult } from '../contract/inspection.js';
import type { AccessInput, BindingRecord } from '../contract/operations.js';
import { accessReport, type AccessReport } from '../domain/access-report.js';
import { outputsOf, readBindingPolicy, requestOf, runOperation } from './operation.js';
import { graph, refuse, stepsFor } from './runner.js';
import { quick } from './step-policies.js';

export const ACCESS_STEPS = ['readBinding', 'inspectCluster', 'listSecretReaders', 'report'] as const;

interface AccessResults {
  readBinding: BindingRecord;
  inspectCluster: ClusterFacts;
  listSecretReaders: ListSecretReadersResult;
  report: AccessReport;
}

const step = stepsFor<AccessInput, AccessResults>();

/** The binding's outputs: without them there is no host principal to judge by. */
function outputs(i: AccessInput, b: BindingRecord) {
  const o = outputsOf(b);
  if (!o) {
    throw refuse(
      `provisioning ${i.bindingId} is ${b.status}, not completed: it has no host principal yet; ask again once it has completed`,
    );
  }
  return o;
}

const accessGraph = graph<AccessInput, AccessResults>([
  step.activity('readBinding', {
    needs: [],
    policy: readBindingPolicy,
    describe: (i) => `read binding ${i.bindingId}`,
    input: (i) => ({ bindingId: i.bindingId }),
    summary: (b) => `${b.status} provisioning of ${b.request.gmsa.name} on ${b.request.cluster.name}`,
  }),

  step.activity('inspectCluster', {
    needs: ['readBinding'],
    policy: quick,
    describe: () => "inspect the cluster's node pools",
    input: (i, { readBinding: b }) => {
      outputs(i, b);
      return { cluster: requestOf(b).cluster };
    },
    summary: (f) => `${f.pools.length} pool(s): ${f.pools.map((p) => `${p.name} (${p.osType})`).join(', ')}`,
  }),

  step.activity('listSecretReaders', {
    needs: ['readBinding'],
    policy: quick,
    describe: () => 'list who may read the secret',
    input: (i, { readBinding: b }) => {
      outputs(i, b);
      const r = requestOf(b);
      return {
        vault: {
          subscriptionId: r.cluster.subscriptionId,
          resourceGroup: r.azure.resourceGroup ?? r.cluster.resourceGroup,
          name: r.azure.keyVault.name,
        },
        secretName: r.azure.keyVault.secretName,
      };
    },
    summary: (s) =>
      `${s.readers.filter((x) => x.readsValue).length} principal(s) may read the secret (${s.accessModel})`,
  }),

  step.workflow('report', {
    needs: ['readBinding', 'inspectCluster', 'listSecretReaders'],
    run: async (i, { readBinding: b, inspectCluster: f, listSecretReaders: s }) => {
      const r = requestOf(b);
      const o = outputs(i, b);
      return accessReport({
        bindingId: i.bindingId,
        hostIdentity: r.options.hostIdentity,
        hostPrincipalId: o.hostPrincipalId,
        ...(o.managedIdentityId ? { hostIdentityId: o.managedIdentityId } : {}),
        windowsNodePools: r.cluster.windowsNodePools,
        ...(f.kubeletIdentity ? { kubeletIdentity: f.kubeletIdentity } : {}),
        pools: f.pools,
        accessModel: s.accessModel,
        vaultId: s.vaultId,
        secretName: r.azure.keyVault.secretName,
        readers: s.readers,
        workerPrincipalId: s.workerPrincipalId,
      });
    },
    summary: (a) =>
      a.problems.length ? `${a.problems.length} problem(s): ${a.problems.join('; ')}` : 'as the binding says',
  }),
]);

export async function gmsaAccess(input: AccessInput): Promise<AccessReport> {
  return runOperation({
    names: ACCESS_STEPS,
    graph: accessGraph,
    input,
    context: {},
    outputs: (r) => r.report,
  });
}
