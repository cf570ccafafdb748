/**
 * deprovisionGmsa against the whole lab (the Samba DC, the ARM fake with the real Azure SDK, the kube-apiserver,
 * Temporal), issue 12's Must-show: two bindings on one cluster sharing one managed identity (and the gMSA and its
 * user). Deprovisioning the first leaves the identity on the Windows scale set and in Azure, and the user and gMSA
 * in AD (the second uses them); deprovisioning the second detaches and deletes the identity and removes everything
 * else, the vaults purged; the cluster's own identities stay on the scale set; a rerun changes nothing; the first
 * request then provisions again. The repair Schedules exist after provisioning (`temporal schedule list`) and are
 * gone after deprovision. Everything is checked in its own system, never by what the run says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { scheduleId } from '../../contract/operations.js';
import type { ProvisionRequest } from '../../domain/request.js';
import type { DeprovisionOutputs } from '../../workflows/deprovision.js';
import { seedCluster, windowsScaleSetIdentities } from '../support/azure-lab.js';
import {
  accountsNamed,
  identityIdOf,
  labRequest,
  leftovers,
  removeBinding,
  removeByName,
  runTag,
  startE2eLab,
  type E2eLab,
  type View,
} from '../support/e2e-lab.js';
import { runOperation } from '../support/operations.js';
import { scheduleIds } from '../support/temporal.js';

type Cluster = Awaited<ReturnType<typeof seedCluster>>;

let lab: E2eLab;
let cluster: Cluster;
const made: { request: ProvisionRequest; binding: string }[] = [];

before(async () => {
  lab = await startE2eLab({ prefix: 'e2e-deprov' });
  // A cluster of its own, with another user-assigned identity on its Windows scale set besides the kubelet's.
  cluster = await seedCluster({ extraScaleSetIdentity: true });
});
after(async () => {
  try {
    const failures: string[] = [];
    for (const m of [...made].reverse())
      failures.push(...(await removeBinding(lab, m.request, m.binding, cluster.nodeResourceGroup)));
    for (const m of made) await removeByName(lab, m.request);
    if (failures.length) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
  } finally {
    await lab?.close();
  }
});

const identitiesOnScaleSet = async () => {
  const all = await windowsScaleSetIdentities(cluster, lab.azure);
  assert.equal(all.size, 1, 'one Windows scale set');
  return [...all.values()][0]!;
};

async function provisioned(request: ProvisionRequest): Promise<string> {
  const id = await lab.start(request);
  if (!made.some((m) => m.binding === id)) made.push({ request, binding: id });
  const v: View = await lab.waitForEnd(id, 300_000);
  assert.equal(v.status, 'COMPLETED', `${v.status}: ${v.error ?? ''}`);
  return id;
}

const deprovision = (bindingId: string) =>
  runOperation<DeprovisionOutputs>(lab.client, lab.settings.taskQueue, 'deprovision', { bindingId });

describe('deprovision', () => {
  test(
    'two bindings sharing an identity: the first leaves it, the second takes everything; a rerun changes nothing; the first provisions again',
    { timeout: 900_000 },
    async () => {
      const tag = runTag();
      const a = labRequest(cluster, tag, 'a');
      const b = labRequest(cluster, tag, 'b');
      b.azure.managedIdentity = { ...a.azure.managedIdentity };
      const identityId = identityIdOf(a).toLowerCase();
      const clusterOwn = await identitiesOnScaleSet();
      assert.ok(clusterOwn.length >= 1, 'the cluster has identities of its own on the scale set');

      const idA = await provisioned(a);
      const idB = await provisioned(b);
      assert.ok((await identitiesOnScaleSet()).includes(identityId));
      const listed = scheduleIds();
      for (const id of [idA, idB]) assert.ok(listed.includes(scheduleId(id, 'repair')), `${id}'s repair Schedule`);
      assert.ok(!listed.includes(scheduleId(idA, 'rotate-password')), 'no rotation unless asked');

      // The first: what it alone had goes; the shared identity, user and gMSA stay for the second.
      const first = await deprovision(idA);
      const afterFirst = await leftovers(lab, a, cluster.nodeResourceGroup);
      assert.deepEqual(
        afterFirst.sort(),
        [
          `AD account ${(await accountsNamed(lab.ad, a.gmsa.standardUser))[0]}`,
          `AD account ${(await accountsNamed(lab.ad, `${a.gmsa.name}$`))[0]}`,
          `identity ${a.azure.managedIdentity.name}`,
          `identity ${a.azure.managedIdentity.name} on scale set ${[...(await windowsScaleSetIdentities(cluster, lab.azure)).keys()][0]}`,
        ].sort(),
        `only what the second binding uses is left of the first: ${JSON.stringify(first.result)}`,
      );
      assert.ok(first.result.kept.some((k) => /managed identity/.test(k)));
      assert.ok(first.result.removed.includes(`key vault ${a.azure.keyVault.name} (purged)`));
      assert.equal(first.progress.steps.find((s) => s.name === 'disableClusterGmsa')?.status, 'skipped', 'not asked');
      assert.ok(!scheduleIds().includes(scheduleId(idA, 'repair')), "the first's Schedule is gone");
      assert.ok(scheduleIds().includes(scheduleId(idB, 'repair')), "the second's stays");
      // The second binding still has its whole chain in place.
      assert.equal((await leftovers(lab, b, cluster.nodeResourceGroup)).length, 9);

      // The second: the identity is detached and deleted, and nothing of either binding is left.
      const second = await deprovision(idB);
      assert.deepEqual(await leftovers(lab, b, cluster.nodeResourceGroup), [], JSON.stringify(second.result));
      assert.deepEqual(await leftovers(lab, a, cluster.nodeResourceGroup), []);
      const now = await identitiesOnScaleSet();
      assert.ok(!now.includes(identityId), 'detached');
      assert.deepEqual(now.sort(), [...clusterOwn].sort(), "the cluster's own identities stay");
      assert.ok(!scheduleIds().some((s) => s.startsWith(idB)), "the second's Schedules are gone");

      // A rerun changes nothing.
      const rerun = await deprovision(idB);
      assert.deepEqual(rerun.result.removed, [], JSON.stringify(rerun.result));
      assert.deepEqual(await identitiesOnScaleSet(), now);

      // The same request provisions again: nothing soft delete kept stands in its way.
      assert.equal(await provisioned(a), idA);
      assert.ok(scheduleIds().includes(scheduleId(idA, 'repair')));
      const again = await deprovision(idA);
      assert.deepEqual(await leftovers(lab, a, cluster.nodeResourceGroup), [], JSON.stringify(again.result));
    },
  );
});
