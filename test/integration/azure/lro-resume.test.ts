/**
 * A long Azure operation survives its attempt: the attempt heartbeats the poller's state, and the next attempt of
 * the same activity (after a worker died, or a heartbeat timeout) polls that operation instead of writing again.
 * The fake holds the cluster PUT until the test releases it, so "still in progress" is a state, not a time.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAksActivities } from '../../../activities/azure/aks.js';
import type { LroHeartbeat } from '../../../activities/azure/poll.js';
import { labClients, mark, requestsSince, seedCluster, withOverride } from '../../support/azure-lab.js';
import { deferred, pollUntil, within } from '../../support/poll.js';

/** Runs `confirmAksGmsa` in its own activity environment; resolves once it heartbeats an operation's state. */
function attempt(input: Parameters<ReturnType<typeof createAksActivities>['confirmAksGmsa']>[0], saved?: unknown) {
  const env = new MockActivityEnvironment(saved === undefined ? {} : { heartbeatDetails: saved });
  const polling = deferred<LroHeartbeat>();
  env.on('heartbeat', (d: unknown) => {
    const beat = d as LroHeartbeat;
    if (Object.keys(beat?.operations ?? {}).length) polling.resolve(beat);
  });
  const { confirmAksGmsa } = createAksActivities(labClients({ pollIntervalMs: 20 }));
  const run = env.run(confirmAksGmsa, input) as ReturnType<typeof confirmAksGmsa>;
  return { env, run, polling: polling.promise };
}

describe('long operations resume from heartbeat details', () => {
  it('a new attempt polls the operation the last one heartbeat, and sends no second PUT', async () => {
    const c = await seedCluster();
    const input = { cluster: c, domainFqdn: 'lab.example.test', dnsServer: '10.0.0.4', enable: true };
    await withOverride({ pathIncludes: c.name, op: 'PUT managedClusters', hold: true }, async (held) => {
      const first = attempt(input);
      const beat = await within(first.polling, 'the first attempt heartbeating its operation', 10_000);
      // The worker dies mid-poll: its attempt is abandoned here (a cancelled one would poll on to the end, since a
      // write under way in Azure is seen through before the workflow rolls back).
      const abandoned = first.run.catch((e: unknown) => e);

      // Control: an attempt that knows nothing finds the cluster busy and waits for it, writing nothing.
      const controlFrom = await mark();
      const control = attempt(input);
      await pollUntil(
        'the fresh attempt polling the busy cluster',
        async () =>
          (await requestsSince(controlFrom, `/managedClusters/${c.name}`)).filter((r) => r.op === 'GET managedClusters')
            .length >= 2,
      );

      const since = await mark();
      const resumed = attempt(input, beat);
      await within(resumed.polling, 'the resumed attempt polling', 10_000);
      await held.release();
      const result = await within(resumed.run, 'the resumed attempt', 10_000);
      assert.equal(result.enabledByThisRun, true);
      const after = await labClients().aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name);
      assert.equal(after.windowsProfile?.gmsaProfile?.enabled, true);
      const puts = (await requestsSince(since, `/managedClusters/${c.name}`)).filter((r) => r.method === 'PUT');
      assert.deepEqual(puts, [], 'the resumed attempt wrote nothing');
      const waited = await within(control.run, 'the fresh attempt after the release', 10_000);
      assert.equal(waited.enabledByThisRun, false, 'the fresh attempt only waited');
      await within(abandoned, 'the abandoned attempt to see the same operation end', 10_000);
    });
  });
});
