/**
 * For the chaos tier (test/chaos): watching runs while a peer is down (a failed read is "not yet", not a failure),
 * the time from a fault to a run moving again (printed as `# chaos <case>: recovered in N s`, never asserted), and
 * the check that nothing was made twice, each object read in its own system.
 */
import assert from 'node:assert/strict';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';
import type { temporal } from '@temporalio/proto';
import type { ProvisionRequest } from '../../domain/request.js';
import { admin, windowsScaleSetIdentities } from './azure-lab.js';
import { accountsNamed, identityIdOf, removeBinding, removeByName, type E2eLab, type View } from './e2e-lab.js';

export type Pending = temporal.api.workflow.v1.IPendingActivityInfo;
/** temporal.api.enums.v1.PendingActivityState: the attempt is on a worker. */
export const STARTED = 2;

/** Prints the case's recovery time in the line the chaos phase is read for (the runner shows it as `# chaos …`). */
export function reportRecovery(name: string, ms: number, detail = ''): void {
  console.log(`chaos ${name}: recovered in ${(ms / 1000).toFixed(1)} s${detail ? ` (${detail})` : ''}`);
}

/** Steps that are done (succeeded or skipped): what "the run moved" counts. */
export const doneSteps = (v: View) => v.steps.filter((s) => s.status === 'succeeded' || s.status === 'skipped').length;
export const step = (v: View, name: string) => v.steps.find((s) => s.name === name);
export const describeEnd = (v: View) =>
  `${v.status}: ${v.phase}; ${v.error ?? ''}; failed: ${JSON.stringify(v.steps.filter((s) => s.status === 'failed'))}`;

/** The run's view, or the reason it could not be read (Temporal down): the caller keeps polling. */
export async function tryView(lab: E2eLab, id: string): Promise<View | string> {
  try {
    const res = await lab.call('GET', `/v1/provisionings/${id}`, 'viewer');
    return res.statusCode === 200 ? (res.json() as View) : `HTTP ${res.statusCode}: ${res.body.slice(0, 200)}`;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Polls until `accept` takes the run's view, reads that fail counting as "not yet"; fails naming `what` and the
 * last thing seen after `timeoutMs`.
 */
export async function watchRun<T>(
  lab: E2eLab,
  id: string,
  what: string,
  accept: (v: View) => T | undefined | false,
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let seen = 'nothing yet';
  for (;;) {
    const v = await tryView(lab, id);
    if (typeof v === 'string') seen = v;
    else {
      seen = `${v.status}: ${v.phase}; ${v.steps.map((s) => `${s.name}=${s.status}/${s.attempts}`).join(' ')}`;
      const got = accept(v);
      if (got !== undefined && got !== false) return got;
    }
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    await delay(250);
  }
}

/** Waits for every run to end (reads may fail meanwhile) and asserts each COMPLETED. */
export async function expectAllComplete(lab: E2eLab, ids: string[], timeoutMs = 240_000): Promise<View[]> {
  const ends = await Promise.all(
    ids.map((id) => watchRun(lab, id, `provisioning ${id} to end`, (v) => v.status !== 'RUNNING' && v, timeoutMs)),
  );
  for (const end of ends) assert.equal(end.status, 'COMPLETED', `${end.id}: ${describeEnd(end)}`);
  return ends;
}

/**
 * The time from `from` until one of the runs has more steps done than in `baseline` (or has ended): the run moving
 * again after a fault.
 */
export async function timeToProgress(
  lab: E2eLab,
  baseline: Map<string, number>,
  from: number,
  timeoutMs = 180_000,
): Promise<number> {
  const ids = [...baseline.keys()];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const id of ids) {
      const v = await tryView(lab, id);
      if (typeof v !== 'string' && (v.status !== 'RUNNING' || doneSteps(v) > (baseline.get(id) ?? 0)))
        return Date.now() - from;
    }
    if (Date.now() >= deadline) throw new Error(`no run of ${ids.join(', ')} moved within ${timeoutMs} ms`);
    await delay(200);
  }
}

/** How many steps each run has done now (the baseline for `timeToProgress`). */
export async function progressNow(lab: E2eLab, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const id of ids) {
    const v = await tryView(lab, id);
    out.set(id, typeof v === 'string' ? 0 : doneSteps(v));
  }
  return out;
}

/** The pending activity of `activityId` in run `id`, as the server has it (undefined when it is not pending). */
export async function pendingStep(lab: E2eLab, id: string, activityId: string): Promise<Pending | undefined> {
  const d = await lab.client.workflow.getHandle(id).describe();
  return d.raw.pendingActivities?.find((a) => a.activityId === activityId);
}

const CREDSPEC = { group: 'windows.k8s.io', version: 'v1', plural: 'gmsacredentialspecs' };

/**
 * Nothing made twice, read in each system: one accepted create of each run's vault and identity (the fake's request
 * log since `since`), one access-policy entry and one attachment per scale set for its identity, one AD account of
 * each name, and one credential spec of its name in the cluster.
 */
export async function assertNothingTwice(
  lab: E2eLab,
  since: number,
  cluster: { subscriptionId: string; nodeResourceGroup: string },
  requests: ProvisionRequest[],
): Promise<void> {
  const log = await admin().requests(since);
  assert.equal(log[0]?.seq, since + 1, "the fake's request log still holds every request of the runs");
  const creates = (segment: string, name: string) =>
    log.filter(
      (r) =>
        r.method === 'PUT' &&
        (r.status === 201 || r.applied === 201) &&
        new RegExp(`/${segment}/${name}$`, 'i').test(r.path),
    );
  const onScaleSets = await windowsScaleSetIdentities(cluster, lab.azure);
  const specs = (
    (await lab.kube.makeApiClient(CustomObjectsApi).listClusterCustomObject(CREDSPEC)) as {
      items: { metadata: { name: string } }[];
    }
  ).items.map((i) => i.metadata.name);
  for (const request of requests) {
    const { keyVault, managedIdentity } = request.azure;
    const rg = request.azure.resourceGroup ?? request.cluster.resourceGroup;
    const sub = request.cluster.subscriptionId;
    assert.equal(creates('vaults', keyVault.name).length, 1, `vault ${keyVault.name} created once`);
    assert.equal(
      creates('userAssignedIdentities', managedIdentity.name).length,
      1,
      `identity ${managedIdentity.name} created once`,
    );
    const identity = await lab.azure.msi(sub).userAssignedIdentities.get(rg, managedIdentity.name);
    const policies = (await lab.azure.keyVault(sub).vaults.get(rg, keyVault.name)).properties.accessPolicies ?? [];
    assert.equal(
      policies.filter((p) => p.objectId === identity.principalId).length,
      1,
      `one access-policy entry for ${managedIdentity.name} on ${keyVault.name}`,
    );
    const identityId = identityIdOf(request).toLowerCase();
    for (const [vmss, ids] of onScaleSets)
      assert.equal(ids.filter((i) => i === identityId).length, 1, `${managedIdentity.name} once on ${vmss}`);
    for (const sam of [request.gmsa.standardUser, `${request.gmsa.name}$`])
      assert.equal((await accountsNamed(lab.ad, sam)).length, 1, `one AD account ${sam}`);
    const spec = request.gmsa.credentialSpecName;
    assert.equal(specs.filter((n) => n === spec).length, 1, `one credential spec ${spec}`);
  }
}

/**
 * Removes what the runs made: the product's own removals first (a failing one fails the suite), then by name, since
 * the DC and the API server outlive the run and are shared with other suites.
 */
export async function removeRuns(
  lab: E2eLab,
  made: { request: ProvisionRequest; id: string; nodeResourceGroup: string }[],
): Promise<void> {
  const failures: string[] = [];
  for (const m of made)
    failures.push(...(await removeBinding(lab, m.request, m.id, m.nodeResourceGroup)).map((f) => `${m.id}: ${f}`));
  for (const m of made) await removeByName(lab, m.request);
  if (failures.length) throw new Error(`removing what the test made failed:\n${failures.join('\n')}`);
}
