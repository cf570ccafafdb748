/**
 * confirmAksGmsa and getKubeconfig with the real @azure/arm-containerservice client against the lab ARM fake:
 * enabling by GET-modify-PUT, reruns that change nothing, refusals that say what to run, and how throttling and
 * authorization failures are classified.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createAksActivities, createKubeconfigSource } from '../../../activities/azure/aks.js';
import type { RetryHint } from '../../../contract/errors.js';
import {
  failure,
  labClients,
  mark,
  requestsSince,
  seedCluster,
  unique,
  withFault,
  withOverride,
} from '../../support/azure-lab.js';
import { within } from '../../support/poll.js';

const FQDN = 'lab.example.test';

describe('confirmAksGmsa', () => {
  it('enables gMSA with dnsServer and rootDomainName, and a rerun changes nothing', async () => {
    const c = await seedCluster();
    const clients = labClients();
    const { confirmAksGmsa } = createAksActivities(clients);
    const since = await mark();
    const first = await confirmAksGmsa({ cluster: c, domainFqdn: FQDN, dnsServer: '10.0.0.4', enable: true });
    assert.equal(first.enabledByThisRun, true);
    assert.equal(first.nodeResourceGroup, c.nodeResourceGroup);
    assert.match(first.clusterId, new RegExp(`/managedClusters/${c.name}$`));
    assert.ok(first.kubeletIdentity?.objectId, 'kubelet identity reported');
    const after = await clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name);
    assert.deepEqual(after.windowsProfile?.gmsaProfile, { enabled: true, dnsServer: '10.0.0.4', rootDomainName: FQDN });
    assert.equal(after.windowsProfile?.adminUsername, 'azureuser', 'the rest of the Windows profile survives the PUT');

    const second = await confirmAksGmsa({ cluster: c, domainFqdn: FQDN, dnsServer: '10.0.0.4', enable: true });
    assert.equal(second.enabledByThisRun, false);
    const puts = (await requestsSince(since, `/managedClusters/${c.name}`)).filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 1, 'only the first run wrote the cluster');
  });

  it('without a DNS server sends neither dnsServer nor rootDomainName', async () => {
    const c = await seedCluster();
    const clients = labClients();
    await createAksActivities(clients).confirmAksGmsa({ cluster: c, domainFqdn: FQDN, enable: true });
    const after = await clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name);
    assert.deepEqual(after.windowsProfile?.gmsaProfile, { enabled: true });
  });

  it('refuses to enable when not allowed, naming the az command, and writes nothing', async () => {
    const c = await seedCluster();
    const since = await mark();
    const f = await failure(
      createAksActivities(labClients()).confirmAksGmsa({
        cluster: c,
        domainFqdn: FQDN,
        dnsServer: '10.0.0.4',
        enable: false,
      }),
    );
    assert.equal(f.nonRetryable, true);
    assert.equal(f.type, 'PreconditionFailed');
    assert.match(f.message, /gMSA is not enabled/);
    assert.match(
      f.message,
      new RegExp(
        `az aks update .*-n ${c.name} --enable-windows-gmsa --gmsa-dns-server 10.0.0.4 --gmsa-root-domain-name ${FQDN}`,
      ),
    );
    const puts = (await requestsSince(since, c.name)).filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 0);
  });

  it("fails at once with ARM's message for a cluster without managed identity", async () => {
    const c = await seedCluster({ managedIdentity: false });
    const clients = labClients();
    const f = await failure(
      createAksActivities(clients).confirmAksGmsa({
        cluster: c,
        domainFqdn: FQDN,
        dnsServer: '10.0.0.4',
        enable: true,
      }),
    );
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /Windows GMSA requires managed identity\./);
    assert.match(f.message, /--enable-managed-identity/);
    const after = await clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name);
    assert.equal(after.windowsProfile?.gmsaProfile, undefined, 'cluster unchanged');
  });

  it('checks that the named pools exist and are Windows', async () => {
    const c = await seedCluster();
    const activities = createAksActivities(labClients());
    const linux = await failure(
      activities.confirmAksGmsa({ cluster: { ...c, windowsNodePools: ['nodepool1'] }, domainFqdn: FQDN, enable: true }),
    );
    assert.equal(linux.type, 'PreconditionFailed');
    assert.match(linux.message, /node pool 'nodepool1' is Linux, not Windows/);
    const missing = await failure(
      activities.confirmAksGmsa({ cluster: { ...c, windowsNodePools: ['win9'] }, domainFqdn: FQDN, enable: true }),
    );
    assert.match(missing.message, /node pool 'win9' does not exist/);
  });

  it('reports a missing cluster and a missing resource group as fatal NotFound', async () => {
    const c = await seedCluster();
    const activities = createAksActivities(labClients());
    const noCluster = await failure(
      activities.confirmAksGmsa({ cluster: { ...c, name: unique('aks-none-') }, domainFqdn: FQDN, enable: true }),
    );
    assert.equal(noCluster.type, 'NotFound');
    assert.equal(noCluster.nonRetryable, true);
    assert.match(noCluster.message, /ResourceNotFound/);
    const rg = unique('rg-none-');
    const noRg = await failure(
      activities.confirmAksGmsa({ cluster: { ...c, resourceGroup: rg }, domainFqdn: FQDN, enable: true }),
    );
    assert.match(noRg.message, new RegExp(`ResourceGroupNotFound: Resource group '${rg}' could not be found`));
  });

  it('heartbeats while it polls the long-running PUT inside an activity', async () => {
    const c = await seedCluster();
    // The cluster's PUT stays InProgress until released: the activity must be polling, not done, when it beats.
    await withOverride({ pathIncludes: c.name, op: 'PUT managedClusters', hold: true }, async (held) => {
      const env = new MockActivityEnvironment();
      const beats: unknown[] = [];
      let twoBeats = () => {};
      const beaten = new Promise<void>((resolve) => (twoBeats = resolve));
      env.on('heartbeat', (d: unknown) => {
        if (beats.push(d) >= 2) twoBeats();
      });
      const { confirmAksGmsa } = createAksActivities(labClients({ pollIntervalMs: 20 }));
      let done = false;
      const run = (
        env.run(confirmAksGmsa, {
          cluster: c,
          domainFqdn: FQDN,
          dnsServer: '10.0.0.4',
          enable: true,
        }) as Promise<Awaited<ReturnType<typeof confirmAksGmsa>>>
      ).finally(() => (done = true));
      await within(Promise.race([beaten, run]), 'two heartbeats while the PUT is held', 10_000);
      assert.equal(done, false, 'the activity returned while its operation was still InProgress');
      assert.ok(beats.length >= 2);
      await held.release();
      const r = await within(run, 'the activity after the release', 10_000);
      assert.equal(r.enabledByThisRun, true);
    });
  });
});

describe('Azure errors from AKS calls', () => {
  it('retries a 429 after its Retry-After (the SDK honours it before the activity sees anything)', async () => {
    const c = await seedCluster();
    const since = await mark();
    const rule = {
      op: 'GET managedClusters',
      kind: 'throttle',
      count: 1,
      retryAfterSec: 1,
      pathIncludes: c.name,
    } as const;
    const r = await withFault(rule, () =>
      createAksActivities(labClients()).confirmAksGmsa({ cluster: c, domainFqdn: FQDN, enable: true }),
    );
    assert.equal(r.enabledByThisRun, true);
    const gets = (await requestsSince(since, `/managedClusters/${c.name}`)).filter(
      (x) => x.op === 'GET managedClusters',
    );
    assert.equal(gets[0]?.status, 429);
    assert.equal(gets[1]?.status, 200);
    // A lower bound only (the SDK must not retry sooner): load can make it later, never earlier.
    const waited = (gets[1]?.at ?? 0) - (gets[0]?.at ?? 0);
    assert.ok(waited >= 950, `second try came ${waited} ms after the 429, expected ≥ 1000`);
  });

  it('classifies a 429 left after the SDK retries as transient, with the Retry-After as next retry delay', async () => {
    const c = await seedCluster();
    const rule = {
      op: 'GET managedClusters',
      kind: 'throttle',
      count: 1,
      retryAfterSec: 7,
      pathIncludes: c.name,
    } as const;
    const f = await withFault(rule, () =>
      failure(
        createAksActivities(labClients({ maxRetries: 0 })).confirmAksGmsa({
          cluster: c,
          domainFqdn: FQDN,
          enable: true,
        }),
      ),
    );
    assert.equal(f.type, 'Transient');
    assert.equal(f.nonRetryable, false);
    assert.equal(
      (f.details?.[0] as RetryHint | undefined)?.retryAfterMs,
      7000,
      'the Retry-After travels to the retry loop',
    );
    assert.match(f.message, /429 SubscriptionRequestsThrottled/);
  });

  it('fails at once on a 403, without retrying', async () => {
    const c = await seedCluster();
    const since = await mark();
    const f = await withFault({ op: 'GET managedClusters', kind: 'forbidden', count: 5, pathIncludes: c.name }, () =>
      failure(createAksActivities(labClients()).confirmAksGmsa({ cluster: c, domainFqdn: FQDN, enable: true })),
    );
    assert.equal(f.type, 'Forbidden');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /AuthorizationFailed/);
    const gets = (await requestsSince(since, `/managedClusters/${c.name}`)).filter(
      (x) => x.op === 'GET managedClusters',
    );
    assert.equal(gets.length, 1, 'one request, no retries');
    assert.equal(gets[0]?.status, 403);
  });

  it('treats 5xx and dropped connections as transient', async () => {
    const c = await seedCluster();
    const activities = createAksActivities(labClients({ maxRetries: 0 }));
    const input = { cluster: c, domainFqdn: FQDN, enable: true };
    const since = await mark();
    const unavailable = await withFault(
      { op: 'GET managedClusters', kind: 'unavailable', count: 1, pathIncludes: c.name },
      () => failure(activities.confirmAksGmsa(input)),
    );
    assert.equal(unavailable.type, 'Transient');
    assert.equal(unavailable.nonRetryable, false);
    const reset = await withFault({ op: 'GET managedClusters', kind: 'reset', count: 1, pathIncludes: c.name }, () =>
      failure(activities.confirmAksGmsa(input)),
    );
    assert.equal(reset.type, 'Transient');
    assert.equal(reset.nonRetryable, false);
    const gets = (await requestsSince(since, `/managedClusters/${c.name}`)).filter(
      (x) => x.op === 'GET managedClusters',
    );
    assert.deepEqual(
      gets.map((x) => [x.status, x.fault]),
      [
        [503, 'unavailable'],
        [0, 'reset'],
      ],
      'each failure is the injected one, and nothing retried it',
    );
  });
});

describe('getKubeconfig', () => {
  it('returns the user and the admin kubeconfig as YAML', async () => {
    const c = await seedCluster();
    const { getKubeconfig } = createKubeconfigSource(labClients());
    const user = await getKubeconfig(c);
    const adminConfig = await getKubeconfig(c, 'admin');
    for (const yaml of [user, adminConfig]) {
      assert.match(yaml, /^apiVersion: v1$/m);
      assert.match(yaml, /^clusters:$/m);
      assert.match(yaml, /server: https:\/\//);
    }
    if (process.env.AZURE_LAB_KUBECONFIG) {
      assert.equal(user, readFileSync(process.env.AZURE_LAB_KUBECONFIG, 'utf8'), 'the lab Kubernetes API kubeconfig');
    } else {
      assert.match(user, /clusterUser_/);
      assert.match(adminConfig, /clusterAdmin_/);
    }
  });
});
