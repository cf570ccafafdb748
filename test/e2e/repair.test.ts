/**
 * repairGmsa against the whole lab (issue 12 "Must show: drift"): a binding provisioned on a cluster of its own; a
 * repair with nothing drifted fixes nothing and writes no scale set; the identity removed from the Windows scale
 * set behind the product's back (a PATCH with the Azure SDK straight to the ARM fake) is back after a repair, which
 * says so in `found` and `fixed`; a Windows pool added to the cluster (an agent-pool PUT, which gives the new pool
 * a scale set as AKS does) gets the identity at the next repair. Every fact is read back from ARM itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { identityChange } from '../../activities/azure/scale-set-identities.js';
import type { ProvisionRequest } from '../../domain/request.js';
import type { RepairOutputs } from '../../workflows/repair.js';
import { mark, requestsSince, seedCluster, windowsScaleSetIdentities } from '../support/azure-lab.js';
import {
  identityIdOf,
  labRequest,
  removeBinding,
  removeByName,
  runTag,
  startE2eLab,
  type E2eLab,
} from '../support/e2e-lab.js';
import { runOperation } from '../support/operations.js';

type Cluster = Awaited<ReturnType<typeof seedCluster>>;

let lab: E2eLab;
let cluster: Cluster;
let request: ProvisionRequest;
let binding: string | undefined;

before(async () => {
  lab = await startE2eLab({ prefix: 'e2e-repair' });
  cluster = await seedCluster();
  request = labRequest(cluster, runTag());
});
after(async () => {
  try {
    if (binding) {
      const failed = await removeBinding(lab, request, binding, cluster.nodeResourceGroup);
      assert.deepEqual(failed, [], "the product's removals failed on what the test made");
    }
    if (request) await removeByName(lab, request);
  } finally {
    await lab?.close();
  }
});

const repair = () => runOperation<RepairOutputs>(lab.client, lab.settings.taskQueue, 'repair', { bindingId: binding! });
const onScaleSets = () => windowsScaleSetIdentities(cluster, lab.azure);
const summaryOf = (run: Awaited<ReturnType<typeof repair>>, step: string) =>
  run.progress.steps.find((s) => s.name === step)?.summary ?? '';

describe('repairGmsa on the lab', () => {
  test('provisioned; a repair with nothing drifted fixes nothing and writes no scale set', async () => {
    binding = await lab.start(request);
    const view = await lab.waitForEnd(binding);
    assert.equal(view.status, 'COMPLETED', `${view.phase}; ${view.error ?? ''}`);
    const identity = identityIdOf(request).toLowerCase();
    assert.ok((await onScaleSets()).get('akswin1')?.includes(identity), 'the provisioning attached the identity');

    const since = await mark();
    const run = await repair();
    assert.deepEqual(run.result.found, []);
    assert.deepEqual(run.result.fixed, []);
    assert.equal(run.result.chainBefore.ok, true);
    assert.ok(run.result.chainAfter.every((c) => c.ok));
    const patches = (await requestsSince(since, cluster.nodeResourceGroup)).filter((r) => r.method === 'PATCH');
    assert.deepEqual(patches, [], 'no scale set was written');
    assert.match(summaryOf(run, 'attachIdentity'), /^identity on every Windows pool \(win1\)$/);
  });

  test('the identity removed from the Windows scale set behind our back is back after a repair', async () => {
    const identity = identityIdOf(request).toLowerCase();
    const compute = lab.azure.compute(cluster.subscriptionId).virtualMachineScaleSets;
    const vmss = await compute.get(cluster.nodeResourceGroup, 'akswin1');
    const change = identityChange(vmss.identity, { remove: [identityIdOf(request)] });
    assert.ok(change, 'the identity was there to remove');
    await compute.beginUpdateAndWait(
      cluster.nodeResourceGroup,
      'akswin1',
      { identity: change },
      { updateIntervalInMs: 20 },
    );
    const before = (await onScaleSets()).get('akswin1') ?? [];
    assert.ok(!before.includes(identity), 'removed behind the product’s back');
    assert.ok(
      before.some((id) => id.endsWith(`/${cluster.name}-agentpool`)),
      "the cluster's own identity stays",
    );

    const run = await repair();
    const mi = request.azure.managedIdentity.name;
    assert.deepEqual(run.result.found, [`identity ${mi} missing on Windows pool win1 (scale set akswin1)`]);
    assert.deepEqual(run.result.fixed, [`identity ${mi} attached to akswin1 (pool win1)`]);
    const after = (await onScaleSets()).get('akswin1') ?? [];
    assert.ok(after.includes(identity), 'the identity is back on the scale set');
    assert.deepEqual(
      after.filter((id) => id !== identity).sort(),
      [...before].sort(),
      'every other identity as it was',
    );
    assert.match(summaryOf(run, 'attachIdentity'), /^found: identity .* missing on Windows pool win1 .* — fixed: /);
  });

  test('a Windows pool added to the cluster gets the identity at the next repair; the Linux pool does not', async () => {
    const identity = identityIdOf(request).toLowerCase();
    await lab.azure
      .aks(cluster.subscriptionId)
      .agentPools.beginCreateOrUpdateAndWait(
        cluster.resourceGroup,
        cluster.name,
        'win2',
        { osType: 'Windows', osSKU: 'Windows2022', count: 1, vmSize: 'Standard_D2s_v3', mode: 'User' },
        { updateIntervalInMs: 20 },
      );
    assert.ok(!(await onScaleSets()).get('akswin2')?.includes(identity), 'a new pool starts without it');

    const run = await repair();
    const mi = request.azure.managedIdentity.name;
    assert.deepEqual(run.result.found, [
      `identity ${mi} missing on Windows pool win2 (scale set akswin2, a pool added since the provisioning)`,
    ]);
    assert.deepEqual(run.result.fixed, [`identity ${mi} attached to akswin2 (pool win2)`]);
    const now = await onScaleSets();
    assert.ok(now.get('akswin2')?.includes(identity), 'the new pool has the identity');
    assert.ok(now.get('akswin1')?.includes(identity), 'the first pool still has it');
    const linux = [];
    for await (const s of lab.azure
      .compute(cluster.subscriptionId)
      .virtualMachineScaleSets.list(cluster.nodeResourceGroup))
      if (s.virtualMachineProfile?.storageProfile?.osDisk?.osType === 'Linux') linux.push(s);
    assert.ok(linux.length > 0);
    for (const s of linux) {
      const ids = Object.keys(s.identity?.userAssignedIdentities ?? {}).map((id) => id.toLowerCase());
      assert.ok(!ids.includes(identity), `Linux scale set ${s.name} has no need and did not get it`);
    }

    const again = await repair();
    assert.deepEqual([again.result.found, again.result.fixed], [[], []], 'converged: the next repair fixes nothing');
  });
});
