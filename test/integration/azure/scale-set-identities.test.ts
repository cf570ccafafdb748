/**
 * applyScaleSetChanges, the scale-set coordinator's write, with the real @azure/arm-compute and @azure/arm-msi
 * clients against the lab ARM fake, which refuses as Azure does: more than 150 identities named in one PATCH, more
 * than 512 on one scale set, a second PATCH while one runs. PATCHes are counted in the fake's request log; what
 * each carried is read by a pipeline policy on the client that sent it.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AzureClients } from '../../../activities/azure/clients.js';
import { createManagedIdentityActivities } from '../../../activities/azure/managed-identity.js';
import type { LroHeartbeat } from '../../../activities/azure/poll.js';
import { createScaleSetActivities } from '../../../activities/azure/scale-set-identities.js';
import type { ScaleSetChange } from '../../../contract/coordination.js';
import { ErrorType } from '../../../contract/errors.js';
import {
  failure,
  LAB_RG,
  labClients,
  LOCATION,
  mark,
  requestsSince,
  seedCluster,
  unique,
  withOverride,
} from '../../support/azure-lab.js';
import { deferred, within } from '../../support/poll.js';

const WIN = 'akswin1';

/** A cluster of this test's own and the coordinator's target: its Windows pool's scale set. */
async function world() {
  const cluster = await seedCluster();
  const target = { subscriptionId: cluster.subscriptionId, nodeResourceGroup: cluster.nodeResourceGroup, pool: 'win1' };
  return { cluster, target };
}

/** `n` user-assigned identities (with `tags`), created a few at a time; their resource ids in order. */
async function identities(clients: AzureClients, sub: string, n: number, tags: Record<string, string> = {}) {
  const prefix = unique('mi-ss-');
  const ids: string[] = new Array<string>(n);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const mi = await clients
        .msi(sub)
        .userAssignedIdentities.createOrUpdate(LAB_RG, `${prefix}-${i}`, { location: LOCATION, tags });
      ids[i] = String(mi.id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return ids;
}

const binding = () => ({ binding: unique('gmsa-ss-t-'), adopt: [] });
const change = (op: 'attach' | 'detach', identityId: string, owner = binding()): ScaleSetChange => ({
  requestId: randomUUID(),
  replyTo: owner.binding,
  op,
  identityId,
  owner,
});

/** The user-assigned identities on the Windows scale set now (lowercase ids). */
async function onScaleSet(clients: AzureClients, target: { subscriptionId: string; nodeResourceGroup: string }) {
  const vmss = await clients.compute(target.subscriptionId).virtualMachineScaleSets.get(target.nodeResourceGroup, WIN);
  return new Set(Object.keys(vmss.identity?.userAssignedIdentities ?? {}).map((id) => id.toLowerCase()));
}

async function patchesSince(since: number, nodeRg: string) {
  return (await requestsSince(since, `${nodeRg}/providers/Microsoft.Compute/virtualMachineScaleSets`)).filter(
    (r) => r.method === 'PATCH',
  );
}

/** Clients whose compute PATCHes are recorded: the identities each named, attached ({}) and detached (null). */
function recordingClients(sub: string) {
  const clients = labClients();
  const sent: Array<{ attach: number; detach: number }> = [];
  clients.compute(sub).pipeline.addPolicy({
    name: 'recordIdentityPatches',
    async sendRequest(request, next) {
      if (request.method === 'PATCH' && typeof request.body === 'string') {
        const named = Object.values(
          (JSON.parse(request.body) as { identity?: { userAssignedIdentities?: Record<string, unknown> } }).identity
            ?.userAssignedIdentities ?? {},
        );
        sent.push({ attach: named.filter((v) => v !== null).length, detach: named.filter((v) => v === null).length });
      }
      return next(request);
    },
  });
  return { clients, sent };
}

/** Attaches `ids` straight through the SDK, 150 a PATCH: a scale set as other writers left it. */
async function attachDirectly(
  clients: AzureClients,
  target: { subscriptionId: string; nodeResourceGroup: string },
  ids: string[],
) {
  for (let i = 0; i < ids.length; i += 150) {
    const userAssignedIdentities = Object.fromEntries(ids.slice(i, i + 150).map((id) => [id, {}]));
    await (
      await clients
        .compute(target.subscriptionId)
        .virtualMachineScaleSets.beginUpdate(
          target.nodeResourceGroup,
          WIN,
          { identity: { type: 'UserAssigned', userAssignedIdentities } },
          { updateIntervalInMs: 20 },
        )
    ).pollUntilDone();
  }
}

describe('applyScaleSetChanges: merged PATCHes', () => {
  it('30 attaches in one batch are one PATCH; every identity is attached and the ones there stay', async () => {
    const { target } = await world();
    const { clients, sent } = recordingClients(target.subscriptionId);
    const before = await onScaleSet(clients, target);
    const ids = await identities(clients, target.subscriptionId, 30);
    const changes = ids.map((id) => change('attach', id));
    const since = await mark();
    const r = await createScaleSetActivities(clients).applyScaleSetChanges({ target, changes });
    assert.equal(r.scaleSet, WIN);
    assert.equal(r.patches, 1);
    assert.equal((await patchesSince(since, target.nodeResourceGroup)).length, 1, 'one PATCH reached Azure');
    assert.deepEqual(sent, [{ attach: 30, detach: 0 }]);
    assert.deepEqual(
      r.outcomes,
      changes.map((c) => ({ requestId: c.requestId, scaleSet: WIN, ok: true, changed: true })),
    );
    const after = await onScaleSet(clients, target);
    for (const id of [...before, ...ids.map((i) => i.toLowerCase())]) assert.ok(after.has(id), id);
    assert.equal(after.size, before.size + 30);
  });

  it('200 attaches are two PATCHes of 150 and 50 (Azure names at most 150 in one), and all are attached', async () => {
    const { target } = await world();
    const { clients, sent } = recordingClients(target.subscriptionId);
    const ids = await identities(clients, target.subscriptionId, 200);
    const since = await mark();
    const r = await createScaleSetActivities(clients).applyScaleSetChanges({
      target,
      changes: ids.map((id) => change('attach', id)),
    });
    assert.equal(r.patches, 2);
    assert.equal((await patchesSince(since, target.nodeResourceGroup)).length, 2);
    assert.deepEqual(sent, [
      { attach: 150, detach: 0 },
      { attach: 50, detach: 0 },
    ]);
    assert.ok(r.outcomes.every((o) => o.ok && o.changed));
    const after = await onScaleSet(clients, target);
    assert.ok(ids.every((id) => after.has(id.toLowerCase())));
  });

  it('200 bindings sharing one identity are one PATCH naming it once; a rerun sends none', async () => {
    const { target } = await world();
    const { clients, sent } = recordingClients(target.subscriptionId);
    const [shared] = (await identities(clients, target.subscriptionId, 1)) as [string];
    const changes = Array.from({ length: 200 }, () => change('attach', shared));
    const r = await createScaleSetActivities(clients).applyScaleSetChanges({ target, changes });
    assert.equal(r.patches, 1);
    assert.deepEqual(sent, [{ attach: 1, detach: 0 }]);
    assert.ok(r.outcomes.every((o) => o.ok && o.changed));
    const since = await mark();
    const again = await createScaleSetActivities(clients).applyScaleSetChanges({
      target,
      changes: [change('attach', shared)],
    });
    assert.equal(again.patches, 0);
    assert.deepEqual(await patchesSince(since, target.nodeResourceGroup), []);
    assert.equal(again.outcomes[0]?.ok, true);
    assert.equal(again.outcomes[0]?.changed, false, 'it was so already');
  });

  it('fails the whole batch, naming what is there, when the pool has no scale set', async () => {
    const { target } = await world();
    const since = await mark();
    const f = await failure(
      createScaleSetActivities(labClients()).applyScaleSetChanges({
        target: { ...target, pool: 'win9' },
        changes: [
          change(
            'attach',
            `/subscriptions/${target.subscriptionId}/resourceGroups/${LAB_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x`,
          ),
        ],
      }),
    );
    assert.equal(f.type, ErrorType.PreconditionFailed);
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /no scale set for node pool 'win9'.*akswin1/);
    assert.deepEqual(await patchesSince(since, target.nodeResourceGroup), []);
  });

  it('an identity Azure refuses (deleted meanwhile) fails alone; the others of its PATCH are attached', async () => {
    const { target } = await world();
    const clients = labClients();
    const ids = await identities(clients, target.subscriptionId, 5);
    const gone = ids[2] as string;
    await clients.msi(target.subscriptionId).userAssignedIdentities.delete(LAB_RG, gone.split('/').pop() as string);
    const r = await createScaleSetActivities(clients).applyScaleSetChanges({
      target,
      changes: ids.map((id) => change('attach', id)),
    });
    const failed = r.outcomes.filter((o) => !o.ok);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.requestId, r.outcomes[2]?.requestId);
    assert.match(failed[0]?.error?.message ?? '', /FailedIdentityOperation|was not found/);
    const after = await onScaleSet(clients, target);
    for (const id of ids) assert.equal(after.has(id.toLowerCase()), id !== gone, id);
  });
});

describe('applyScaleSetChanges: detaches', () => {
  /** Identities marked as this product's, used by `owners` (ensureManagedIdentity, as the provisioning creates them). */
  async function ours(clients: AzureClients, sub: string, owners: Array<{ binding: string; adopt: never[] }>) {
    const name = unique('mi-ours-');
    let id = '';
    for (const owner of owners) {
      id = (
        await createManagedIdentityActivities(clients).ensureManagedIdentity({
          subscriptionId: sub,
          resourceGroup: LAB_RG,
          location: LOCATION,
          name,
          owner,
        })
      ).id;
    }
    return id;
  }

  it('attach then detach of one identity in one batch: the detach wins', async () => {
    const { target } = await world();
    const clients = labClients();
    const owner = binding();
    const mi = await ours(clients, target.subscriptionId, [owner]);
    await attachDirectly(clients, target, [mi]);
    const changes = [change('attach', mi, owner), change('detach', mi, owner)];
    const r = await createScaleSetActivities(clients).applyScaleSetChanges({ target, changes });
    assert.equal(r.patches, 1);
    assert.ok(!(await onScaleSet(clients, target)).has(mi.toLowerCase()), 'detached');
    assert.equal(r.outcomes[1]?.ok, true);
    assert.equal(r.outcomes[1]?.changed, true);
    assert.equal(r.outcomes[0]?.ok, false, 'the attach did not stand');
    assert.match(r.outcomes[0]?.error?.message ?? '', /later change in the same batch/);

    // The other way round, on a scale set without it: attached.
    const back = await createScaleSetActivities(clients).applyScaleSetChanges({
      target,
      changes: [change('detach', mi, owner), change('attach', mi, owner)],
    });
    assert.ok((await onScaleSet(clients, target)).has(mi.toLowerCase()), 'attached');
    assert.deepEqual(
      back.outcomes.map((o) => [o.ok, o.changed, Boolean(o.kept)]),
      [
        [true, false, true],
        [true, true, false],
      ],
    );
  });

  it('keeps an identity another binding uses, one not ours and one that is gone; detaches one all its users leave', async () => {
    const { target } = await world();
    const clients = labClients();
    const [a, b] = [binding(), binding()];
    const shared = await ours(clients, target.subscriptionId, [a, b]);
    const [foreign, deleted] = (await identities(clients, target.subscriptionId, 2)) as [string, string];
    await attachDirectly(clients, target, [shared, foreign, deleted]);
    await clients.msi(target.subscriptionId).userAssignedIdentities.delete(LAB_RG, deleted.split('/').pop() as string);
    const since = await mark();
    const r = await createScaleSetActivities(clients).applyScaleSetChanges({
      target,
      changes: [change('detach', shared, a), change('detach', foreign, a), change('detach', deleted, a)],
    });
    assert.equal(r.patches, 0);
    assert.deepEqual(await patchesSince(since, target.nodeResourceGroup), [], 'no PATCH');
    assert.deepEqual(
      r.outcomes.map((o) => [o.ok, o.changed]),
      [
        [true, false],
        [true, false],
        [true, false],
      ],
    );
    assert.match(r.outcomes[0]?.kept ?? '', /still used by 1 other binding/);
    assert.match(r.outcomes[1]?.kept ?? '', /not marked as aks-gmsa's/);
    assert.match(r.outcomes[2]?.kept ?? '', /does not exist/);
    const after = await onScaleSet(clients, target);
    for (const id of [shared, foreign, deleted]) assert.ok(after.has(id.toLowerCase()), `${id} stays`);

    // Both bindings that use it leave in one batch: nobody is left, so it goes.
    const both = await createScaleSetActivities(clients).applyScaleSetChanges({
      target,
      changes: [change('detach', shared, a), change('detach', shared, b)],
    });
    assert.equal(both.patches, 1);
    assert.ok(both.outcomes.every((o) => o.ok && o.changed && !o.kept));
    assert.ok(!(await onScaleSet(clients, target)).has(shared.toLowerCase()));
  });
});

describe("applyScaleSetChanges: Azure's limit of 512 identities on a scale set", () => {
  it('past 512 the extra attach fails saying what to do; the others are attached', async () => {
    const { target } = await world();
    const clients = labClients();
    const before = await onScaleSet(clients, target);
    // The scale set at 511: its kubelet identity and 510 more.
    await attachDirectly(clients, target, await identities(clients, target.subscriptionId, 511 - before.size));
    assert.equal((await onScaleSet(clients, target)).size, 511);
    const [fits, extra] = (await identities(clients, target.subscriptionId, 2)) as [string, string];
    const changes = [change('attach', fits), change('attach', extra)];
    const r = await createScaleSetActivities(clients).applyScaleSetChanges({ target, changes });
    assert.equal(r.patches, 1);
    assert.deepEqual(r.outcomes[0], { requestId: changes[0]?.requestId, scaleSet: WIN, ok: true, changed: true });
    const refused = r.outcomes[1];
    assert.equal(refused?.ok, false);
    assert.equal(refused?.error?.type, ErrorType.PreconditionFailed);
    assert.match(refused?.error?.message ?? '', new RegExp(`${target.nodeResourceGroup}/${WIN}`));
    assert.match(refused?.error?.message ?? '', /512/);
    assert.match(refused?.error?.message ?? '', /share one managed identity/i);
    assert.match(refused?.error?.message ?? '', /kubeletIdentity/);
    const after = await onScaleSet(clients, target);
    assert.equal(after.size, 512);
    assert.ok(after.has(fits.toLowerCase()) && !after.has(extra.toLowerCase()));
  });
});

describe('the fake refuses identity PATCHes as Azure does', () => {
  it("more than 150 named in one request: Azure's 400; past 512 on the scale set: a 400 too", async () => {
    const { target } = await world();
    const clients = labClients();
    const ids = await identities(clients, target.subscriptionId, 151);
    const patch = (names: string[]) =>
      clients.compute(target.subscriptionId).virtualMachineScaleSets.beginUpdate(target.nodeResourceGroup, WIN, {
        identity: { type: 'UserAssigned', userAssignedIdentities: Object.fromEntries(names.map((id) => [id, {}])) },
      });
    const tooMany = await patch(ids).then(
      () => assert.fail('151 identities in one PATCH were accepted'),
      (e: { statusCode?: number; code?: string; message?: string }) => e,
    );
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.code, 'BadRequest');
    assert.equal(tooMany.message, "User Assigned Identities Number '151' Assign exceed limit '150' in one request.");
    assert.equal((await onScaleSet(clients, target)).size, 1, 'nothing attached');

    await attachDirectly(clients, target, ids.slice(0, 150));
    await attachDirectly(clients, target, await identities(clients, target.subscriptionId, 361)); // 512 now
    const past = await patch(ids.slice(150)).then(
      () => assert.fail('a 513th identity was accepted'),
      (e: { statusCode?: number; code?: string; message?: string }) => e,
    );
    assert.equal(past.statusCode, 400);
    assert.match(past.message ?? '', /exceed limit '512'/);
    assert.equal((await onScaleSet(clients, target)).size, 512);
  });
});

describe('applyScaleSetChanges: an attempt that dies mid-PATCH', () => {
  /** Runs the activity in its own activity environment; `polling` resolves once it heartbeats its operation. */
  function attempt(
    input: Parameters<ReturnType<typeof createScaleSetActivities>['applyScaleSetChanges']>[0],
    saved?: unknown,
    clients = labClients({ pollIntervalMs: 20 }),
  ) {
    const env = new MockActivityEnvironment(saved === undefined ? {} : { heartbeatDetails: saved });
    const polling = deferred<LroHeartbeat>();
    let last: LroHeartbeat | undefined;
    env.on('heartbeat', (d: unknown) => {
      last = d as LroHeartbeat;
      if (Object.keys(last?.operations ?? {}).length) polling.resolve(last);
    });
    const { applyScaleSetChanges } = createScaleSetActivities(clients);
    const run = env.run(applyScaleSetChanges, input) as ReturnType<typeof applyScaleSetChanges>;
    return { run, polling: polling.promise, lastBeat: () => last };
  }

  /**
   * Clients whose operation polls pass until the `free`-th, which (and every later one) waits for `release`: the
   * SDK's poller polls once before it hands itself over, so holding the second poll stops an attempt after Azure
   * accepted its PATCH and before any progress was reported.
   */
  function pollsHeldAfter(subscriptionId: string, free: number) {
    const clients = labClients({ pollIntervalMs: 20 });
    const held = deferred<void>();
    const release = deferred<void>();
    let polls = 0;
    clients.compute(subscriptionId).pipeline.addPolicy({
      name: 'holdOperationPolls',
      async sendRequest(request, next) {
        if (request.method === 'GET' && /\/operations\//i.test(new URL(request.url).pathname) && ++polls > free) {
          held.resolve();
          await release.promise;
        }
        return next(request);
      },
    });
    return { clients, held: held.promise, release: () => release.resolve() };
  }

  /**
   * The next attempt, given the last one's heartbeat `beat`, polls that PATCH while it is held, and once `held` is
   * released ends with every change made, having sent no PATCH of its own.
   */
  async function resumesWithoutPatch(
    input: Parameters<typeof attempt>[0],
    beat: LroHeartbeat | undefined,
    held: { release(): Promise<void> },
    nodeResourceGroup: string,
  ) {
    const since = await mark();
    const resumed = attempt(input, beat);
    await within(resumed.polling, 'the resumed attempt polling', 10_000);
    await held.release();
    const r = await within(resumed.run, 'the resumed attempt', 10_000);
    assert.ok(r.outcomes.every((o) => o.ok && o.changed));
    assert.deepEqual(await patchesSince(since, nodeResourceGroup), [], 'the resumed attempt sent no PATCH');
  }

  it('a retried attempt resumes the PATCH in flight from its heartbeat and sends no second one', async () => {
    const { target } = await world();
    const ids = await identities(labClients(), target.subscriptionId, 3);
    const input = { target, changes: ids.map((id) => change('attach', id)) };
    await withOverride(
      { pathIncludes: target.nodeResourceGroup, op: 'PATCH virtualMachineScaleSets', hold: true },
      async (held) => {
        const first = attempt(input);
        const beat = await within(first.polling, 'the first attempt heartbeating its PATCH', 10_000);
        const abandoned = first.run.catch((e: unknown) => e); // its worker died: nobody waits for it

        // Control: an attempt that knows nothing sends the PATCH again and meets Azure's "in progress" 409.
        const control = await within(
          attempt(input).run.catch((e: unknown) => e),
          'a fresh attempt',
          10_000,
        );
        assert.ok(control instanceof ApplicationFailure, `expected a failure, got ${String(control)}`);
        assert.equal(control.type, ErrorType.Transient);
        assert.match(control.message, /in progress/i);

        await resumesWithoutPatch(input, beat, held, target.nodeResourceGroup);
        const after = await onScaleSet(labClients(), target);
        assert.ok(ids.every((id) => after.has(id.toLowerCase())));
        await within(abandoned, 'the abandoned attempt to see the same operation end', 10_000);
      },
    );
  });

  it('an attempt that dies after Azure accepted its PATCH, before any progress, leaves its retry the operation', async () => {
    const { target } = await world();
    const ids = await identities(labClients(), target.subscriptionId, 2);
    const input = { target, changes: ids.map((id) => change('attach', id)) };
    await withOverride(
      { pathIncludes: target.nodeResourceGroup, op: 'PATCH virtualMachineScaleSets', hold: true },
      async (held) => {
        const polls = pollsHeldAfter(target.subscriptionId, 1);
        const first = attempt(input, undefined, polls.clients);
        const abandoned = first.run.catch((e: unknown) => e); // its worker dies below: nobody waits for it
        try {
          // It dies here: the PATCH accepted, the poller handed over, the next poll not yet answered.
          await within(polls.held, 'the first attempt polling after its PATCH was accepted', 10_000);
          const beat = first.lastBeat();
          assert.ok(Object.keys(beat?.operations ?? {}).length, 'the attempt beat its operation before polling on');

          await resumesWithoutPatch(input, beat, held, target.nodeResourceGroup);
        } finally {
          polls.release(); // the abandoned attempt polls on, and sees the operation end
        }
        await within(abandoned, 'the abandoned attempt to see the same operation end', 10_000);
      },
    );
  });
});
