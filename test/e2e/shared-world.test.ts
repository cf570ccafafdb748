/**
 * The whole product in a shared world (DESIGN "A shared world: ownership and adoption"; issue 15), against the real
 * Samba DC, the ARM fake holding several clusters, and the one lab kube-apiserver that stands for every cluster's
 * Kubernetes side (so two bindings there take two credential spec names). Each test uses names of its own and
 * removes what it made afterwards; every wait has a deadline. What each test proves is in its name; how, below.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSecretReader } from '../../activities/azure/key-vault.js';
import { parseCcgSecret } from '../../domain/ccg-secret.js';
import { AD_MARKER_ATTRIBUTE, bindingKey, parseAdMarker } from '../../domain/ownership.js';
import { ENCODING } from '../../temporal/codec.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { connect, readEntry } from '../support/ad-lab.js';
import { admin, mark, requestsSince, seedCluster, withFault, withOverride } from '../support/azure-lab.js';
import {
  accountsNamed,
  identityIdOf,
  labRequest,
  leftovers,
  removeBinding,
  removeByName,
  runTag,
  sambaTool,
  startE2eLab,
  type E2eLab,
  type View,
} from '../support/e2e-lab.js';
import { pollUntil } from '../support/poll.js';
import { activitiesIn, historyOf, unencryptedPayloads } from '../support/temporal.js';

type Cluster = Awaited<ReturnType<typeof seedCluster>>;
const stepOf = (v: View, name: string) => {
  const s = v.steps.find((x) => x.name === name);
  assert.ok(s, `no step ${name} in ${v.steps.map((x) => x.name).join(', ')}`);
  return s;
};
const failedSteps = (v: View) => v.steps.filter((s) => s.status === 'failed');
/** The step that failed the run and why, from the run's error (`<step> failed: <why>`); the rest were stopped. */
const firstFailure = (v: View) => {
  const m = /^(\w+) failed: ([\s\S]*)$/.exec(v.error ?? '');
  return { step: m?.[1], why: m?.[2] ?? v.error ?? '' };
};
const describeEnd = (v: View) =>
  `${v.status}: ${v.phase}; ${v.error ?? ''}; failed: ${JSON.stringify(failedSteps(v))}; rollback: ${JSON.stringify(v.rollback)}`;

/**
 * What each test made, removed after the suite: by the product's removals for each binding first (so a failing
 * removal fails the suite), then by name whatever the markers say (the DC and the API server outlive the run).
 */
const made: { request: ProvisionRequest; binding?: string; nodeResourceGroup: string }[] = [];
async function removeWhatTestsMade() {
  const failures: string[] = [];
  // Newest first: a shared user or gMSA is released by the later binding, then deleted by the one that made it.
  for (const m of [...made].reverse()) {
    if (!m.binding) continue;
    const failed = await removeBinding(lab, m.request, m.binding, m.nodeResourceGroup);
    failures.push(...failed.map((f) => `${m.binding}: ${f}`));
  }
  for (const m of made) await removeByName(lab, m.request);
  if (failures.length) throw new Error(`the product's removals failed on what the tests made:\n${failures.join('\n')}`);
}

let lab: E2eLab;
before(async () => {
  lab = await startE2eLab({ prefix: 'e2e-shared' });
});
after(async () => {
  try {
    if (lab) await removeWhatTestsMade();
  } finally {
    await lab?.close();
  }
});

/** Starts a provisioning (through `on`'s API) and records its binding for removal. */
async function started(request: ProvisionRequest, cluster: Cluster, on: E2eLab = lab) {
  const id = await on.start(request);
  if (!made.some((m) => m.binding === id))
    made.push({ request, binding: id, nodeResourceGroup: cluster.nodeResourceGroup });
  return id;
}

/**
 * After a cancel: releases the test's holds only once the product has had its say (the run ended, its rollback
 * began, the step is no longer running, or the step's attempt heartbeated after the cancel and so was told).
 */
async function untilCancelReached(id: string, step: string, cancelledAt: number) {
  const ms = (t?: { seconds?: unknown; nanos?: number | null } | null) =>
    Number(String(t?.seconds ?? 0)) * 1000 + Math.round((t?.nanos ?? 0) / 1e6);
  let seen = '';
  return pollUntil(
    `the cancel to reach ${step}`,
    async () => {
      const d = await lab.client.workflow.getHandle(id).describe();
      if (d.status.name !== 'RUNNING') return (seen = `run ${d.status.name}`);
      const pending = d.raw.pendingActivities?.find((p) => p.activityId === step);
      if (!pending) return (seen = `${step} no longer running`);
      if ((await lab.view(id)).rollback) return (seen = 'rollback began');
      seen = `${step} pending, state ${pending.state}, last heartbeat ${ms(pending.lastHeartbeatTime) - cancelledAt} ms after the cancel`;
      return ms(pending.lastHeartbeatTime) > cancelledAt ? seen : undefined;
    },
    { timeoutMs: 150_000, intervalMs: 500, last: () => seen },
  );
}

// The suites are independent (names, clusters, holds and faults of their own): they run at once.
describe('a shared world', { concurrency: true }, () => {
  describe('one gMSA and its user on two clusters, a vault each', () => {
    const tag = runTag();
    let first: Cluster;
    let second: Cluster;
    before(async () => {
      first = await seedCluster();
      second = await seedCluster();
    });

    test('the fake holds a second cluster: its own node resource group and Windows scale set; seeding it again is refused', async () => {
      for (const c of [first, second]) {
        const cluster = await lab.azure.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name);
        assert.equal(cluster.nodeResourceGroup, c.nodeResourceGroup);
        const vmss = await lab.azure
          .compute(c.subscriptionId)
          .virtualMachineScaleSets.get(c.nodeResourceGroup, 'akswin1');
        assert.equal(vmss.virtualMachineProfile?.storageProfile?.osDisk?.osType, 'Windows');
      }
      assert.notEqual(first.nodeResourceGroup, second.nodeResourceGroup);
      await assert.rejects(admin().seedCluster({ name: second.name, resourceGroup: second.resourceGroup }), /409/);
    });

    test(
      'both complete; both vaults hold the one password, which AD takes; the first chain still holds after the second run',
      { timeout: 420_000 },
      async () => {
        const a = labRequest(first, tag, 'a');
        const b = labRequest(second, tag, 'b');
        const one = await lab.waitForEnd(await started(a, first));
        assert.equal(one.status, 'COMPLETED', describeEnd(one));
        const user = await readEntry(lab.ad, one.outputs!.domainUserDn, ['pwdLastSet']);

        const two = await lab.waitForEnd(await started(b, second));
        assert.equal(two.status, 'COMPLETED', describeEnd(two));
        // The second binding found the user ours and copied its password; it neither made a new one nor reset it.
        assert.match(stepOf(two, 'findDomainUser').summary ?? '', /ours/, stepOf(two, 'findDomainUser').summary);
        assert.match(stepOf(two, 'storeUserSecret').summary ?? '', /^copied /, stepOf(two, 'storeUserSecret').summary);
        assert.match(stepOf(two, 'ensureDomainUser').summary ?? '', /^found /);
        assert.doesNotMatch(stepOf(two, 'ensureDomainUser').summary ?? '', /password reset/);
        assert.equal(two.outputs!.domainUserDn, one.outputs!.domainUserDn);
        assert.equal(two.outputs!.gmsaDn, one.outputs!.gmsaDn);
        assert.notEqual(two.outputs!.secretUri, one.outputs!.secretUri, 'each binding has its own vault');
        const again = await readEntry(lab.ad, one.outputs!.domainUserDn, ['pwdLastSet']);
        assert.equal(again?.pwdLastSet, user?.pwdLastSet, "the second run changed the user's password");

        // Both vaults, read through their data planes as the CCG plugin reads them: one value (never printed).
        const reader = createSecretReader(lab.azure);
        const origin = (uri: string) => `${new URL(uri).origin}/`;
        const values = await Promise.all(
          [one, two].map((v) => reader.read(origin(v.outputs!.secretUri), a.azure.keyVault.secretName)),
        );
        assert.ok(
          values[0] === values[1],
          'the two vaults hold different values: the second binding made a password of its own',
        );
        const credential = parseCcgSecret(values[0]!);
        assert.ok(credential, 'the secret is in the CCG form');
        assert.equal(credential.user, a.gmsa.standardUser);
        const asUser = await connect(lab.ad, `${credential.user}@${credential.domain}`, credential.password);
        await asUser.close();

        // Each cluster's Windows hosts carry their own binding's identity.
        for (const [r, c] of [
          [a, first],
          [b, second],
        ] as const) {
          const vmss = await lab.azure
            .compute(c.subscriptionId)
            .virtualMachineScaleSets.get(c.nodeResourceGroup, 'akswin1');
          const ids = Object.keys(vmss.identity?.userAssignedIdentities ?? {}).map((x) => x.toLowerCase());
          assert.ok(ids.includes(identityIdOf(r).toLowerCase()), `${r.azure.managedIdentity.name} on ${c.name}`);
        }

        // The first binding's chain, checked now by the verifyChain activity itself with that binding's inputs.
        const chain = await lab.activities.verifyChain({
          cluster: a.cluster,
          domainFqdn: a.domain.fqdn,
          gmsaName: a.gmsa.name,
          specName: a.gmsa.credentialSpecName,
          secretUri: one.outputs!.secretUri,
          rbac: a.options.rbac,
        });
        assert.deepEqual(
          chain.checks.filter((c) => !c.ok),
          [],
          'every link of the first chain holds',
        );
        assert.ok(chain.checks.length >= 4, JSON.stringify(chain.checks));
      },
    );
  });

  describe('an account that exists before the run', () => {
    test(
      'an account made with samba-tool named as the standard user: the run fails before any AD write, naming it; adopt domainUser adopts and marks it',
      { timeout: 420_000 },
      async () => {
        const cluster = await seedCluster();
        const request = labRequest(cluster, runTag());
        const sam = request.gmsa.standardUser;
        sambaTool(['user', 'create', sam, '--random-password', '--description=made by hand before aks-gmsa']);
        made.push({ request, nodeResourceGroup: cluster.nodeResourceGroup });
        const [dn] = await accountsNamed(lab.ad, sam);
        assert.ok(dn, `samba-tool made ${sam}`);
        const WATCHED = ['pwdLastSet', 'userAccountControl', AD_MARKER_ATTRIBUTE, 'description'];
        const before = await readEntry(lab.ad, dn, WATCHED);

        const refused = await lab.waitForEnd(await started(request, cluster));
        assert.equal(refused.status, 'FAILED', describeEnd(refused));
        const { step, why } = firstFailure(refused);
        assert.ok(step === 'findDomainUser' || step === 'ensureDomainUser', describeEnd(refused));
        assert.equal(stepOf(refused, step).lastError?.message, why, 'the step says what the run says');
        assert.match(why, new RegExp(sam, 'i'), 'the failure names the account');
        assert.match(why, /domainUser/, 'and the options.adopt value that adopts it');
        assert.notEqual(stepOf(refused, 'ensureDomainUser').status, 'succeeded');
        assert.deepEqual(await readEntry(lab.ad, dn, WATCHED), before, 'the account is unchanged');

        request.options.adopt = ['domainUser'];
        const adopted = await lab.waitForEnd(await started(request, cluster));
        assert.equal(adopted.status, 'COMPLETED', describeEnd(adopted));
        assert.equal(adopted.outputs!.domainUserDn.toLowerCase(), dn.toLowerCase());
        assert.match(stepOf(adopted, 'ensureDomainUser').summary ?? '', /^adopted /);
        const after = await readEntry(lab.ad, dn, [AD_MARKER_ATTRIBUTE]);
        const marker = parseAdMarker(after?.[AD_MARKER_ATTRIBUTE] as string | undefined);
        assert.ok(marker, `the account carries our marker: ${String(after?.[AD_MARKER_ATTRIBUTE])}`);
        assert.equal(marker.createdBy, undefined, 'marked as adopted, not as made by us');
        assert.ok(marker.uses.includes(bindingKey(adopted.id)), `used by ${adopted.id}: ${marker.uses.join(',')}`);
        // Adopted means its password is now the one in this binding's vault: AD takes it.
        const value = await createSecretReader(lab.azure).read(
          `${new URL(adopted.outputs!.secretUri).origin}/`,
          request.azure.keyVault.secretName,
        );
        const credential = parseCcgSecret(value);
        assert.ok(credential, 'the secret is in the CCG form');
        await (await connect(lab.ad, `${credential.user}@${credential.domain}`, credential.password)).close();
      },
    );
  });

  describe('rollback by ownership', () => {
    test(
      'cancelled while the vault create is in flight: nothing of the run is left',
      { timeout: 420_000 },
      async () => {
        const cluster = await seedCluster();
        const request = labRequest(cluster, runTag());
        request.options.rollbackOnFailure = true;
        const vault = request.azure.keyVault.name;
        await withOverride({ pathIncludes: vault, op: 'PUT vaults', hold: true }, async (hold) => {
          const since = await mark();
          const id = await started(request, cluster);
          await pollUntil(
            'the vault create to be accepted and held, the identity made',
            async () =>
              (await requestsSince(since, `/vaults/${vault}`)).some((r) => r.method === 'PUT' && r.status === 201) &&
              stepOf(await lab.view(id), 'ensureManagedIdentity').status === 'succeeded',
            { timeoutMs: 120_000, intervalMs: 200 },
          );
          assert.equal(stepOf(await lab.view(id), 'ensureKeyVault').status, 'running');
          const cancelledAt = Date.now();
          await lab.cancel(id);
          await untilCancelReached(id, 'ensureKeyVault', cancelledAt);
          await hold.release();
          const end = await lab.waitForEnd(id);
          assert.equal(end.status, 'CANCELED', describeEnd(end));
          assert.equal(end.rollback?.status, 'done', describeEnd(end));
          assert.deepEqual(await leftovers(lab, request, cluster.nodeResourceGroup), [], 'what the run left');
        });
      },
    );

    test(
      'cancelled while the scale-set PATCH is in flight, after user, gMSA and spec were made: nothing of the run is left',
      { timeout: 420_000 },
      async () => {
        const cluster = await seedCluster();
        const request = labRequest(cluster, runTag());
        request.options.rollbackOnFailure = true;
        const hold = { pathIncludes: cluster.nodeResourceGroup, op: 'PATCH virtualMachineScaleSets', hold: true };
        await withOverride(hold, async (patch) => {
          const since = await mark();
          const id = await started(request, cluster);
          let view: View | undefined;
          await pollUntil(
            'the spec made and the scale-set PATCH accepted and held',
            async () => {
              view = await lab.view(id);
              if (view.status !== 'RUNNING') return `ended ${view.status}`;
              const patched = (await requestsSince(since, '/virtualMachineScaleSets/')).some(
                (r) => r.method === 'PATCH' && r.status >= 200 && r.status < 300,
              );
              return patched && stepOf(view, 'ensureCredentialSpec').status === 'succeeded';
            },
            {
              timeoutMs: 120_000,
              intervalMs: 200,
              last: () => JSON.stringify(view?.steps.map((s) => [s.name, s.status])),
            },
          );
          assert.equal(view?.status, 'RUNNING', view && describeEnd(view));
          // The PATCH is the scale-set coordinator's: the binding waits for its answer.
          assert.equal(stepOf(view!, 'attachIdentity').status, 'waiting');
          for (const name of ['ensureDomainUser', 'ensureGmsa', 'storeUserSecret', 'ensureKeyVault'])
            assert.equal(stepOf(view!, name).status, 'succeeded', name);
          await lab.cancel(id);
          // The rollback's detach queues behind the held attach at the same coordinator, so it cannot end before it.
          await pollUntil(
            'the rollback to wait for the coordinator',
            async () => {
              view = await lab.view(id);
              return view.rollback?.status === 'running' && view.rollback.removed.length >= 2;
            },
            { timeoutMs: 120_000, intervalMs: 200, last: () => JSON.stringify(view?.rollback) },
          );
          assert.ok(
            !view!.rollback!.removed.some((r) => r.endsWith('on the scale sets')),
            JSON.stringify(view!.rollback),
          );
          await patch.release();
          const end = await lab.waitForEnd(id);
          assert.equal(end.status, 'CANCELED', describeEnd(end));
          assert.equal(end.rollback?.status, 'done', describeEnd(end));
          // Read after the held PATCH has finished (the fake settles operations on every request, this one included).
          assert.deepEqual(await leftovers(lab, request, cluster.nodeResourceGroup), [], 'what the run left');
        });
      },
    );
  });

  describe('a worker that dies mid-step', () => {
    let crashLab: E2eLab;
    before(async () => {
      crashLab = await startE2eLab({ prefix: 'e2e-crash', worker: 'none' });
    });
    after(async () => {
      await crashLab?.close();
    });

    test(
      'killed while its vault create runs, as a later step fails and stops it: rollback removes what the dead attempt created',
      { timeout: 540_000 },
      async () => {
        const cluster = await seedCluster();
        const request = labRequest(cluster, runTag());
        request.options.rollbackOnFailure = true;
        const vault = request.azure.keyVault.name;
        // The later failure: the hosts' grant is refused by Azure (403, not retried), once. attachIdentity does not
        // wait for the vault, so it fails while the vault create is held: the run stops the vault step, whose only
        // attempt is on the worker about to die, and the step never returns what it made.
        const refusal = {
          op: 'PATCH virtualMachineScaleSets',
          kind: 'forbidden' as const,
          count: 1,
          pathIncludes: cluster.nodeResourceGroup,
        };
        await withFault(refusal, () =>
          withOverride({ pathIncludes: vault, op: 'PUT vaults', hold: true }, async (hold) => {
            const doomed = await crashLab.workerProcess();
            const since = await mark();
            const id = await started(request, cluster, crashLab);
            const handle = crashLab.client.workflow.getHandle(id);
            const tail = () => doomed.lines.slice(-3).join('\n');
            await pollUntil(
              'the dead-to-be worker to have the vault create accepted',
              async () =>
                (await requestsSince(since, `/vaults/${vault}`)).some((r) => r.method === 'PUT' && r.status === 201),
              { timeoutMs: 120_000, intervalMs: 200, last: tail },
            );
            // Not a race with the clock: the kill waits until the run has asked for the vault step to stop.
            const vaultStep = async () =>
              activitiesIn(await historyOf(handle)).find((a) => a.name === 'ensureKeyVault');
            await pollUntil(
              'the refused grant to stop the vault step',
              async () => {
                const events = await historyOf(handle);
                const scheduled = activitiesIn(events).find((a) => a.name === 'ensureKeyVault')?.scheduled;
                return events.some(
                  (e) => Number(e.activityTaskCancelRequestedEventAttributes?.scheduledEventId) === scheduled,
                );
              },
              { timeoutMs: 120_000, intervalMs: 200, last: tail },
            );
            assert.equal((await vaultStep())?.closed, undefined, 'the vault step is still on the doomed worker');
            await doomed.kill();
            const successor = await crashLab.workerProcess();
            await hold.release();
            // The dead attempt is noticed at its heartbeat timeout (3 s); then the rollback runs here.
            const end = await crashLab.waitForEnd(id, 420_000).catch(async (err: unknown) => {
              // A stalled run: say what the successor refused (e.g. a payload the codec did not write).
              const refused = successor.lines.filter((l) => /error|fail/i.test(l)).slice(0, 5);
              const plain = unencryptedPayloads(await historyOf(handle), ENCODING);
              throw new Error(
                `${(err as Error).message}\nsuccessor: ${refused.join('\n')}\nplain: ${plain.join('\n')}`,
              );
            });
            assert.equal(end.status, 'FAILED', describeEnd(end));
            assert.equal(firstFailure(end).step, 'attachIdentity', describeEnd(end));
            assert.match(firstFailure(end).why, /AuthorizationFailed|authoriz/i, describeEnd(end));
            assert.equal(end.rollback?.status, 'done', describeEnd(end));

            const step = await vaultStep();
            assert.notEqual(step?.outcome, 'completed', 'the vault step never returned the vault it made');
            assert.deepEqual(unencryptedPayloads(await historyOf(handle), ENCODING), [], 'plain payloads');
            assert.deepEqual(await leftovers(crashLab, request, cluster.nodeResourceGroup), [], 'what the run left');
          }),
        );
      },
    );
  });
});
