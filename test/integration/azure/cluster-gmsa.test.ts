/**
 * disableClusterGmsa with the real @azure/arm-containerservice client against the lab ARM fake: gMSA on goes off
 * with one PUT (If-Match on the cluster's eTag) and the rest of the cluster as it was; a cluster already off gets no
 * write; a cluster busy with another update is waited for, heartbeating, and written only once that one ended.
 * Operations stay in progress by `hold` overrides, never by timing.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ManagedCluster } from '@azure/arm-containerservice';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClusterGmsaActivities } from '../../../activities/azure/cluster-gmsa.js';
import type { LroHeartbeat } from '../../../activities/azure/poll.js';
import { labClients, mark, requestsSince, seedCluster, withOverride } from '../../support/azure-lab.js';
import { deferred, within } from '../../support/poll.js';

const GMSA = { enabled: true, dnsServer: '10.0.0.4', rootDomainName: 'lab.example.test' };
type Cluster = Awaited<ReturnType<typeof seedCluster>>;

const aksOf = (c: Cluster) => labClients().aks(c.subscriptionId).managedClusters;
const read = (c: Cluster) => aksOf(c).get(c.resourceGroup, c.name);
const putsSince = async (since: number, c: Cluster) =>
  (await requestsSince(since, `/managedClusters/${c.name}`)).filter((r) => r.op === 'PUT managedClusters').length;
const disable = (c: Cluster) =>
  createClusterGmsaActivities(labClients({ pollIntervalMs: 20 })).disableClusterGmsa({ cluster: c });

describe('disableClusterGmsa', () => {
  it('turns gMSA off with one PUT, keeps the rest of the cluster, and a rerun writes nothing', async () => {
    const c = await seedCluster({ gmsa: GMSA });
    const before = await read(c);
    assert.equal(before.windowsProfile?.gmsaProfile?.enabled, true);
    const since = await mark();
    assert.deepEqual(await disable(c), { disabled: true });
    const afterOff = await read(c);
    assert.equal(afterOff.windowsProfile?.gmsaProfile?.enabled, false);
    assert.equal(afterOff.provisioningState, 'Succeeded');
    assert.equal(afterOff.windowsProfile?.adminUsername, before.windowsProfile?.adminUsername);
    assert.deepEqual(
      afterOff.agentPoolProfiles?.map((p) => p.name),
      before.agentPoolProfiles?.map((p) => p.name),
    );
    assert.equal(await putsSince(since, c), 1);

    const again = await mark();
    assert.deepEqual(await disable(c), { disabled: false }, 'off already');
    assert.equal(await putsSince(again, c), 0, 'a rerun sends no write');
  });

  it('a cluster that never had gMSA is left alone', async () => {
    const c = await seedCluster();
    const since = await mark();
    assert.deepEqual(await disable(c), { disabled: false });
    assert.equal(await putsSince(since, c), 0);
  });

  it('waits while another update runs, heartbeating, and writes only after it ended', async () => {
    const c = await seedCluster({ gmsa: GMSA });
    await withOverride({ pathIncludes: c.name, op: 'PUT managedClusters', hold: true }, async (held) => {
      // Someone else's update (a tag), still running when the deprovision gets there.
      const current = await read(c);
      const other = await aksOf(c).beginCreateOrUpdate(c.resourceGroup, c.name, {
        ...current,
        tags: { ...current.tags, team: 'web' },
      } satisfies ManagedCluster);
      const env = new MockActivityEnvironment();
      const waiting = deferred<LroHeartbeat>();
      env.on('heartbeat', (d: unknown) => waiting.resolve(d as LroHeartbeat));
      const { disableClusterGmsa } = createClusterGmsaActivities(labClients({ pollIntervalMs: 20 }));
      const since = await mark();
      const run = env.run(disableClusterGmsa, { cluster: c }) as ReturnType<typeof disableClusterGmsa>;
      const beat = await within(waiting.promise, 'a heartbeat while the cluster is Updating', 10_000);
      assert.match(beat.waitingFor, new RegExp(`cluster ${c.resourceGroup}/${c.name} .*provisioningState Updating`));
      assert.equal(await putsSince(since, c), 0, 'no PUT while the other update runs');
      await held.release();
      await other.pollUntilDone();
      assert.deepEqual(await within(run, 'the disable after the release', 10_000), { disabled: true });
      const after = await read(c);
      assert.equal(after.windowsProfile?.gmsaProfile?.enabled, false);
      assert.equal(after.tags?.team, 'web', "the other update's change is kept: the PUT was built on it");
    });
  });
});
