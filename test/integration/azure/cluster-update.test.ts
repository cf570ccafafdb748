/**
 * One cluster update at a time, with the real @azure/arm-containerservice client against the lab ARM fake: a PUT's
 * goal state shows at once as `Updating` (and stays, `Failed`, when the update fails), a second PUT meanwhile is
 * AKS's 409, and confirmAksGmsa waits for a busy cluster, reports gMSA as enabled only on a `Succeeded` one,
 * reconciles a `Failed` one when it may, and fails at once when a PodDisruptionBudget blocks the Windows drain.
 * Operations stay in progress by `hold` overrides, never by timing.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import type { ManagedCluster } from '@azure/arm-containerservice';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAksActivities } from '../../../activities/azure/aks.js';
import type { LroHeartbeat } from '../../../activities/azure/poll.js';
import { drainBlocked } from '../../../lab/azure/routes-aks.js';
import {
  failure,
  labClients,
  mark,
  requestsSince,
  seedCluster,
  withFault,
  withOverride,
} from '../../support/azure-lab.js';
import { deferred, pollUntil, within } from '../../support/poll.js';

const FQDN = 'lab.example.test';
const GMSA = { enabled: true, dnsServer: '10.0.0.4', rootDomainName: FQDN };

type Cluster = Awaited<ReturnType<typeof seedCluster>>;

const aksOf = (c: Cluster) => labClients().aks(c.subscriptionId).managedClusters;
const read = (c: Cluster) => aksOf(c).get(c.resourceGroup, c.name);

/** The cluster as read with gMSA set as `GMSA`: the body of a PUT that enables it. */
async function withGmsa(c: Cluster): Promise<ManagedCluster> {
  const mc = await read(c);
  return { ...mc, windowsProfile: { ...mc.windowsProfile, adminUsername: 'azureuser', gmsaProfile: GMSA } };
}

/** The cluster PUTs logged after `since`, as [status, fault] pairs. */
async function putsSince(since: number, c: Cluster) {
  return (await requestsSince(since, `/managedClusters/${c.name}`))
    .filter((r) => r.op === 'PUT managedClusters')
    .map((r) => [r.status, r.fault ?? null]);
}

/** The cluster GETs logged after `since`. */
const getsSince = async (since: number, c: Cluster) =>
  (await requestsSince(since, `/managedClusters/${c.name}`)).filter((r) => r.op === 'GET managedClusters').length;

/** Leaves `c` Failed after an update that set GMSA, as AKS does when an update fails. */
async function failedWithGmsa(c: Cluster) {
  await withFault({ op: 'PUT managedClusters', kind: 'lroFailed', count: 1, pathIncludes: c.name }, async () => {
    const aks = aksOf(c);
    await assert.rejects(
      aks.beginCreateOrUpdateAndWait(c.resourceGroup, c.name, await withGmsa(c), { updateIntervalInMs: 20 }),
      /The long-running operation has failed\. InternalExecutionError\./,
    );
  });
}

describe("the fake's managed cluster, as AKS", () => {
  it("shows a running PUT's goal state at once as Updating, and answers a second PUT with AKS's 409", async () => {
    const c = await seedCluster();
    const aks = aksOf(c);
    await withOverride({ pathIncludes: c.name, op: 'PUT managedClusters', hold: true }, async (held) => {
      const poller = await aks.beginCreateOrUpdate(c.resourceGroup, c.name, await withGmsa(c));
      const during = await read(c);
      assert.equal(during.provisioningState, 'Updating');
      assert.deepEqual(during.windowsProfile?.gmsaProfile, GMSA, 'the goal state is visible while it runs');
      await assert.rejects(aks.beginCreateOrUpdate(c.resourceGroup, c.name, during), (e: Error & { code?: string }) => {
        assert.equal((e as { statusCode?: number }).statusCode, 409);
        assert.equal(e.code, 'OperationNotAllowed');
        assert.equal(
          e.message,
          'Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details',
        );
        return true;
      });
      await held.release();
      await within(poller.pollUntilDone(), 'the held PUT after its release', 10_000);
    });
    assert.equal((await read(c)).provisioningState, 'Succeeded');
  });

  it('keeps the goal state of an update that ended Failed, with provisioningState Failed', async () => {
    const c = await seedCluster();
    await failedWithGmsa(c);
    const after = await read(c);
    assert.equal(after.provisioningState, 'Failed');
    assert.deepEqual(after.windowsProfile?.gmsaProfile, GMSA, 'AKS shows the failed update as its goal state');
  });
});

describe('confirmAksGmsa on a cluster another update holds', () => {
  it('two enables at once: one PUT is accepted, the other meets the 409, retries, waits, and both end on Succeeded', async () => {
    const c = await seedCluster();
    const input = { cluster: c, domainFqdn: FQDN, dnsServer: GMSA.dnsServer, enable: true };
    await withOverride({ pathIncludes: c.name, op: 'PUT managedClusters', hold: true }, async (held) => {
      // B reads the cluster first, then stops at its PUT until A's PUT is in: the race of two bindings that both
      // saw gMSA off, made deterministic.
      const b = labClients({ pollIntervalMs: 20 });
      const bAtPut = deferred();
      const gate = deferred();
      b.aks(c.subscriptionId).pipeline.addPolicy({
        name: 'holdFirstPut',
        async sendRequest(req, next) {
          if (req.method === 'PUT') {
            bAtPut.resolve();
            await gate.promise;
          }
          return next(req);
        },
      });
      const since = await mark();
      const bFirst = failure(createAksActivities(b).confirmAksGmsa(input));
      await within(bAtPut.promise, 'B at its PUT, having read the cluster', 10_000);

      const returned: Record<string, string | undefined> = {};
      const stateOnReturn = (who: string) => async (r: { enabledByThisRun: boolean }) => {
        returned[who] = (await read(c)).provisioningState;
        return r;
      };
      const a = createAksActivities(labClients({ pollIntervalMs: 20 }))
        .confirmAksGmsa(input)
        .then(stateOnReturn('A'));
      await pollUntil("A's PUT accepted", async () => (await putsSince(since, c)).some(([s]) => s === 200));

      gate.resolve();
      const busy = await within(bFirst, "B's first attempt", 10_000);
      assert.equal(busy.type, 'Transient', busy.message);
      assert.equal(busy.nonRetryable, false);
      assert.match(busy.message, /409 OperationNotAllowed: Operation is not allowed: Another operation \(Updating\)/);

      // B's next attempt (what Temporal's retry runs) finds the cluster Updating and waits in the activity.
      const waitFrom = await mark();
      const bAgain = createAksActivities(b).confirmAksGmsa(input).then(stateOnReturn('B'));
      await pollUntil('B polling the busy cluster', async () => (await getsSince(waitFrom, c)) >= 3);
      assert.deepEqual(returned, {}, 'neither returned while the update ran');
      await held.release();

      const [ra, rb] = await within(Promise.all([a, bAgain]), 'both enables after the release', 10_000);
      assert.deepEqual(returned, { A: 'Succeeded', B: 'Succeeded' }, 'each returned on a Succeeded cluster');
      assert.equal(ra.enabledByThisRun, true);
      assert.equal(rb.enabledByThisRun, false, 'B did not write: A enabled gMSA');
      assert.deepEqual(
        await putsSince(since, c),
        [
          [200, null],
          [409, null],
        ],
        'exactly one PUT accepted; B sent one PUT in all, refused',
      );
    });
    assert.deepEqual((await read(c)).windowsProfile?.gmsaProfile, GMSA);
  });

  it('waits inside the activity, heartbeating what it waits for, and only then reports gMSA as already on', async () => {
    const c = await seedCluster();
    await withOverride({ pathIncludes: c.name, op: 'PUT managedClusters', hold: true }, async (held) => {
      // Another binding's enable, still running: the profile already reads as wanted.
      const other = await aksOf(c).beginCreateOrUpdate(c.resourceGroup, c.name, await withGmsa(c));
      const env = new MockActivityEnvironment();
      const waiting = deferred<LroHeartbeat>();
      env.on('heartbeat', (d: unknown) => waiting.resolve(d as LroHeartbeat));
      const { confirmAksGmsa } = createAksActivities(labClients({ pollIntervalMs: 20 }));
      let done = false;
      const since = await mark();
      const run = (
        env.run(confirmAksGmsa, {
          cluster: c,
          domainFqdn: FQDN,
          dnsServer: GMSA.dnsServer,
          enable: false,
        }) as ReturnType<typeof confirmAksGmsa>
      ).finally(() => (done = true));
      const beat = await within(waiting.promise, 'a heartbeat while the cluster is Updating', 10_000);
      assert.match(beat.waitingFor, new RegExp(`cluster ${c.resourceGroup}/${c.name} .*provisioningState Updating`));
      assert.equal(done, false, 'it reported before the cluster settled');
      await held.release();
      const r = await within(run, 'the activity after the release', 10_000);
      assert.equal(r.enabledByThisRun, false);
      assert.equal((await read(c)).provisioningState, 'Succeeded');
      assert.deepEqual(await putsSince(since, c), [], 'a waiter does not write');
      await other.pollUntilDone();
    });
  });

  it('the waits of one worker share their reads: ARM sees one GET per interval, not one per waiting binding', async () => {
    const c = await seedCluster();
    const WAITERS = 8;
    await withOverride({ pathIncludes: c.name, op: 'PUT managedClusters', hold: true }, async (held) => {
      const other = await aksOf(c).beginCreateOrUpdate(c.resourceGroup, c.name, await withGmsa(c));
      const { confirmAksGmsa } = createAksActivities(labClients({ pollIntervalMs: 200 }));
      const polls = Array.from({ length: WAITERS }, () => 0);
      const since = await mark();
      const runs = polls.map((_, i) => {
        const env = new MockActivityEnvironment();
        env.on('heartbeat', (d: unknown) => (polls[i] = Math.max(polls[i]!, (d as LroHeartbeat).polls ?? 0)));
        const input = { cluster: c, domainFqdn: FQDN, dnsServer: GMSA.dnsServer, enable: false };
        return env.run(confirmAksGmsa, input) as ReturnType<typeof confirmAksGmsa>;
      });
      await pollUntil('every waiter past its fourth look at the busy cluster', () => polls.every((p) => p >= 4), {
        last: () => polls.join(','),
      });
      // A beat of `polls` k follows k - 1 reads of the waiter's own after its first: unshared, at least this many GETs.
      const unshared = polls.reduce((sum, p) => sum + p - 1, 0);
      const waitingGets = (await getsSince(since, c)) - WAITERS;
      assert.ok(
        waitingGets * 2 <= unshared,
        `${waitingGets} GETs while waiting, against ${unshared} looks (${polls.join(',')})`,
      );
      await held.release();
      const results = await within(Promise.all(runs), 'the waiters after the release', 10_000);
      assert.deepEqual(
        results.map((r) => r.enabledByThisRun),
        polls.map(() => false),
      );
      await other.pollUntilDone();
    });
  });

  it('ends its wait when the activity is cancelled', async () => {
    const c = await seedCluster();
    await withOverride({ pathIncludes: c.name, op: 'PUT managedClusters', hold: true }, async () => {
      await aksOf(c).beginCreateOrUpdate(c.resourceGroup, c.name, await withGmsa(c));
      const env = new MockActivityEnvironment();
      const waiting = deferred();
      env.on('heartbeat', () => waiting.resolve());
      const { confirmAksGmsa } = createAksActivities(labClients({ pollIntervalMs: 20 }));
      const run = env.run(confirmAksGmsa, { cluster: c, domainFqdn: FQDN, enable: true }) as Promise<unknown>;
      await within(waiting.promise, 'the wait to start', 10_000);
      env.cancel();
      await assert.rejects(within(run, 'the cancelled wait', 10_000), CancelledFailure);
    });
  });
});

describe('confirmAksGmsa on a cluster whose last update failed', () => {
  it('without enable: PreconditionFailed naming the repair command, and no write', async () => {
    const c = await seedCluster();
    await failedWithGmsa(c);
    const since = await mark();
    const f = await failure(
      createAksActivities(labClients()).confirmAksGmsa({
        cluster: c,
        domainFqdn: FQDN,
        dnsServer: GMSA.dnsServer,
        enable: false,
      }),
    );
    assert.equal(f.type, 'PreconditionFailed');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /is Failed: its last operation failed/);
    assert.ok(
      f.message.endsWith(`run: az aks update --subscription ${c.subscriptionId} -g ${c.resourceGroup} -n ${c.name}`),
      f.message,
    );
    assert.deepEqual(await putsSince(since, c), []);
    assert.equal((await read(c)).provisioningState, 'Failed', 'left as it was');
  });

  it('with enable: re-sends the update, and reports gMSA enabled once the cluster is Succeeded', async () => {
    const c = await seedCluster();
    await failedWithGmsa(c);
    const since = await mark();
    const r = await createAksActivities(labClients()).confirmAksGmsa({
      cluster: c,
      domainFqdn: FQDN,
      dnsServer: GMSA.dnsServer,
      enable: true,
    });
    assert.equal(r.enabledByThisRun, true, 'the failed update never put gMSA in force; this one did');
    assert.deepEqual(await putsSince(since, c), [[200, null]], 'one PUT: the reconciling update');
    const after = await read(c);
    assert.equal(after.provisioningState, 'Succeeded');
    assert.deepEqual(after.windowsProfile?.gmsaProfile, GMSA);
  });
});

describe('an enable whose Windows drain a PodDisruptionBudget blocks', () => {
  it("fails at once with PreconditionFailed, keeping Azure's code and message and naming the PDB", async () => {
    const c = await seedCluster();
    const azure = drainBlocked({ pool: 'win1', namespace: 'shop', pod: 'web-7d4b9c6f5-x2x9q', pdb: 'web-pdb' });
    const since = await mark();
    const f = await withFault(
      { op: 'PUT managedClusters', kind: 'lroFailed', count: 2, pathIncludes: c.name, ...azure },
      () =>
        failure(
          createAksActivities(labClients()).confirmAksGmsa({
            cluster: c,
            domainFqdn: FQDN,
            dnsServer: GMSA.dnsServer,
            enable: true,
          }),
        ),
    );
    assert.equal(f.type, 'PreconditionFailed');
    assert.equal(f.nonRetryable, true, 'no retry: the same drain meets the same budget');
    assert.ok(f.message.includes(`UpgradeFailed: ${azure.errorMessage}`), `Azure's text kept: ${f.message}`);
    assert.match(f.message, /reimages the cluster's Windows nodes/);
    assert.match(f.message, /the PodDisruptionBudget shop\/web-pdb allows no disruption/);
    assert.match(f.message, new RegExp(`az aks update --subscription \\S+ -g ${c.resourceGroup} -n ${c.name}$`));
    assert.deepEqual(await putsSince(since, c), [[200, 'lroFailed']], 'one attempt, one PUT');
    const after = await read(c);
    assert.equal(after.provisioningState, 'Failed');
    assert.deepEqual(after.windowsProfile?.gmsaProfile, GMSA, 'AKS keeps the goal state of the failed update');
  });
});
