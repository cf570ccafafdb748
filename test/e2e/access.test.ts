/**
 * gmsaAccess against the whole lab (issue 12 "Must show: access"): after a provisioning's grant, the Windows pool's
 * host identity is listed as expected and reading; a pool without need (the lab's Linux system pool, and a Linux
 * pool added by an agent-pool PUT) is reported absent; in both Key Vault access models. A grant made behind the
 * product's back (Secrets User for the kubelet identity, which every pool carries) shows as unexpected. Each
 * binding on a cluster of its own; the workflow is started through Temporal as the API's route starts it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assignmentName, ROLE } from '../../activities/azure/vault-access.js';
import { inspectionId, INSPECTION_WORKFLOWS } from '../../contract/operations.js';
import type { AccessReport } from '../../domain/access-report.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { seedCluster } from '../support/azure-lab.js';
import {
  identityIdOf,
  labRequest,
  removeBinding,
  removeByName,
  runTag,
  startE2eLab,
  type E2eLab,
} from '../support/e2e-lab.js';
import { readProgress } from '../support/operations.js';

type Cluster = Awaited<ReturnType<typeof seedCluster>>;

let lab: E2eLab;
const made: { request: ProvisionRequest; binding: string; cluster: Cluster }[] = [];

before(async () => {
  lab = await startE2eLab({ prefix: 'e2e-access' });
});
after(async () => {
  try {
    const failed: string[] = [];
    for (const m of [...made].reverse()) {
      failed.push(...(await removeBinding(lab, m.request, m.binding, m.cluster.nodeResourceGroup)));
      await removeByName(lab, m.request);
    }
    assert.deepEqual(failed, [], "the product's removals failed on what the tests made");
  } finally {
    await lab?.close();
  }
});

async function provisioned(accessMode: 'accessPolicy' | 'rbac') {
  const cluster = await seedCluster();
  const request = labRequest(cluster, runTag());
  request.options.keyVaultAccess = accessMode;
  const binding = await lab.start(request);
  made.push({ request, binding, cluster });
  const view = await lab.waitForEnd(binding);
  assert.equal(view.status, 'COMPLETED', `${view.phase}; ${view.error ?? ''}`);
  return { cluster, request, binding, hostPrincipalId: String(view.outputs?.hostPrincipalId).toLowerCase() };
}

async function access(binding: string) {
  const id = inspectionId(binding, 'access');
  const report = (await lab.client.workflow.execute(INSPECTION_WORKFLOWS.access, {
    workflowId: id,
    taskQueue: lab.settings.taskQueue,
    args: [{ bindingId: binding }],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  })) as AccessReport;
  return { report, progress: await readProgress(lab.client, id) };
}

const pool = (r: AccessReport, name: string) => {
  const p = r.pools.find((x) => x.name === name);
  assert.ok(p, `no pool ${name} in ${r.pools.map((x) => x.name).join(', ')}`);
  return p;
};

/** What every report after a grant shows: the Windows pool reads through the host identity; the host is expected. */
function assertGranted(r: AccessReport, request: ProvisionRequest, host: string) {
  const win1 = pool(r, 'win1');
  assert.deepEqual([win1.shouldRead, win1.canRead, win1.status, win1.namedByBinding], [true, true, 'ok', true]);
  const hostOnWin1 = win1.identities.find((x) => x.id.toLowerCase() === identityIdOf(request).toLowerCase());
  assert.deepEqual([hostOnWin1?.kind, hostOnWin1?.canRead, hostOnWin1?.principalId], ['host', true, host]);
  const system = pool(r, 'nodepool1');
  assert.deepEqual([system.shouldRead, system.canRead, system.status], [false, false, 'absent']);
  const hostEntry = r.principals.find((p) => p.principalId === host);
  assert.deepEqual([hostEntry?.role, hostEntry?.expected, hostEntry?.pools], ['host', true, ['win1']]);
  assert.ok(
    r.principals.some((p) => p.role === 'worker' && p.expected),
    'the worker, which writes the secret, is listed as expected',
  );
}

describe('gmsaAccess on the lab', () => {
  test('access-policy vault: the Windows pool reads and is expected; the system pool and an added Linux pool are absent', async () => {
    const { cluster, request, binding, hostPrincipalId } = await provisioned('accessPolicy');
    await lab.azure
      .aks(cluster.subscriptionId)
      .agentPools.beginCreateOrUpdateAndWait(
        cluster.resourceGroup,
        cluster.name,
        'lin2',
        { osType: 'Linux', count: 1, mode: 'User' },
        { updateIntervalInMs: 20 },
      );
    const { report, progress } = await access(binding);
    assertGranted(report, request, hostPrincipalId);
    assert.equal(report.vault.accessModel, 'accessPolicy');
    assert.equal(report.wholeVault, true, 'an access policy covers the whole vault');
    assert.deepEqual(report.principals.find((p) => p.principalId === hostPrincipalId)?.grants[0]?.via, 'accessPolicy');
    const lin2 = pool(report, 'lin2');
    assert.deepEqual([lin2.status, lin2.namedByBinding], ['absent', false]);
    assert.match(lin2.scaleSet ?? '', /^aks-lin2-\d+-vmss$/);
    assert.deepEqual(report.problems, []);
    assert.equal(progress.steps.find((s) => s.name === 'report')?.summary, 'as the binding says');
  });

  test('RBAC vault: the host reads by a role on the secret; a kubelet grant behind our back is unexpected', async () => {
    const { cluster, request, binding, hostPrincipalId } = await provisioned('rbac');
    const first = (await access(binding)).report;
    assertGranted(first, request, hostPrincipalId);
    const grant = first.principals.find((p) => p.principalId === hostPrincipalId)?.grants[0];
    assert.deepEqual([grant?.via, grant?.role], ['roleAssignment', 'Key Vault Secrets User']);
    assert.match(String(grant?.scope), new RegExp(`/secrets/${request.azure.keyVault.secretName}$`, 'i'));
    assert.equal(first.wholeVault, false);
    assert.deepEqual(first.problems, []);

    // Someone gives the kubelet identity (on every pool, Linux too) read on the whole vault.
    const aks = await lab.azure.aks(cluster.subscriptionId).managedClusters.get(cluster.resourceGroup, cluster.name);
    const kubelet = String(aks.identityProfile?.kubeletidentity?.objectId);
    const vaultId = first.vault.id;
    await lab.azure
      .authorization(cluster.subscriptionId)
      .roleAssignments.create(vaultId, assignmentName(vaultId, ROLE.keyVaultSecretsUser, kubelet), {
        roleDefinitionId: `/subscriptions/${cluster.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE.keyVaultSecretsUser}`,
        principalId: kubelet,
        principalType: 'ServicePrincipal',
      });
    const { report } = await access(binding);
    const stranger = report.principals.find((p) => p.principalId === kubelet.toLowerCase());
    assert.deepEqual(
      [stranger?.role, stranger?.expected, stranger?.pools],
      ['unexpected', false, ['nodepool1', 'win1']],
    );
    assert.equal(pool(report, 'nodepool1').status, 'unexpected');
    assert.equal(pool(report, 'win1').status, 'ok', 'the Windows pool still reads through its host identity');
    assert.ok(
      report.problems.some((p) => /^identity .*-agentpool may read the secret \(Key Vault Secrets User\)/.test(p)),
      report.problems.join('\n'),
    );
  });
});
