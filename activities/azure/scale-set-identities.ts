/**
 * User-assigned identities on the scale sets of AKS node pools: finding a pool's scale set, the PATCH body in
 * Azure's merge form, one resumable PATCH, and the coordinator's write (contract/coordination.ts), which merges a
 * batch of bindings' changes into as few PATCHes as Azure takes. Azure serialises writes to a scale set and one
 * takes about 40 s, so 200 bindings arriving together cost two PATCHes (150 identities named in each at most) and
 * bindings that share one identity cost one. A scale set holds at most 512 user-assigned identities: an attach
 * past that fails on its own (PreconditionFailed, saying to share an identity or use the kubelet identity) while
 * the rest of its batch goes on.
 */
import { createHash } from 'node:crypto';
import type { VirtualMachineScaleSet, VirtualMachineScaleSetIdentity } from '@azure/arm-compute';
import type { AzureClients } from './clients.js';
import { azureCall, azureFailure, codeOf, isNotFound, lroError } from './errors.js';
import { resumableOperation } from './poll.js';
import { bindingKey, ownershipFromTags } from '../../domain/ownership.js';
import {
  IDENTITIES_PER_REQUEST,
  IDENTITIES_PER_SCALE_SET,
  type ApplyScaleSetChangesInput,
  type ApplyScaleSetChangesResult,
  type CoordinationActivities,
  type ScaleSetChange,
  type ScaleSetChangeOutcome,
  type ScaleSetTarget,
} from '../../contract/coordination.js';
import { ErrorType, fatal } from '../../contract/errors.js';

export const POOL_TAG = 'aks-managed-poolName';
/** A user-assigned identity's resource id: subscription, resource group, name. */
export const IDENTITY_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/([^/]+)$/i;

const lower = (id: string) => id.toLowerCase();

/** Every scale set in a node resource group. */
export async function listScaleSets(
  clients: AzureClients,
  subscriptionId: string,
  nodeResourceGroup: string,
): Promise<VirtualMachineScaleSet[]> {
  return azureCall(`list scale sets in ${nodeResourceGroup}`, async () => {
    const out: VirtualMachineScaleSet[] = [];
    for await (const s of clients.compute(subscriptionId).virtualMachineScaleSets.list(nodeResourceGroup)) out.push(s);
    return out;
  });
}

/**
 * The scale set of node pool `pool` among `all`: by AKS's pool tag, else by AKS's names (`aks<pool>` for a Windows
 * pool, `aks-<pool>-<digits>-vmss` for a Linux one). None: fatal, naming what is there.
 */
export function poolScaleSet(
  all: VirtualMachineScaleSet[],
  pool: string,
  nodeResourceGroup: string,
): VirtualMachineScaleSet {
  const linuxName = new RegExp(`^aks-${pool.replace(/[^a-z0-9]/gi, '')}-\\d+-vmss$`, 'i');
  const found =
    all.find((s) => s.tags?.[POOL_TAG]?.toLowerCase() === pool.toLowerCase()) ??
    all.find((s) => s.name?.toLowerCase() === `aks${pool}`.toLowerCase() || linuxName.test(s.name ?? ''));
  if (!found) {
    throw fatal(
      ErrorType.PreconditionFailed,
      `no scale set for node pool '${pool}' in ${nodeResourceGroup} (looked for tag ${POOL_TAG}=${pool}); scale sets there: ${all.map((s) => s.name).join(', ') || 'none'}`,
    );
  }
  return found;
}

/** The scale set of the target's pool, read now. */
export async function findPoolScaleSet(clients: AzureClients, t: ScaleSetTarget): Promise<VirtualMachineScaleSet> {
  return poolScaleSet(await listScaleSets(clients, t.subscriptionId, t.nodeResourceGroup), t.pool, t.nodeResourceGroup);
}

/**
 * The PATCH body that attaches `add` and detaches `remove` (disjoint lists), in Azure's merge form: a scale set's
 * PATCH merges `userAssignedIdentities` into what it has, `{}` attaching an identity and `null` detaching it, and
 * leaves every identity it does not name in place ("Configure managed identities for Azure resources on a virtual
 * machine scale set using REST API calls", Microsoft Entra docs; VirtualMachineScaleSetUpdate in
 * specification/compute/resource-manager/Microsoft.Compute/ComputeRP). Sending only the change, never a copy of
 * the map read earlier, means an identity another team attached or detached since that read stays as they left
 * it. `type` still names every kind the scale set keeps; when no user-assigned identity is left they go by `type`
 * alone (`None`, or `SystemAssigned` when there is one), as the same page says. Identities attached already (for
 * `add`) or not attached (for `remove`) are left out; undefined when nothing is left to do.
 */
export function identityChange(
  current: VirtualMachineScaleSetIdentity | undefined,
  change: { add?: readonly string[]; remove?: readonly string[] },
): VirtualMachineScaleSetIdentity | undefined {
  const system = /SystemAssigned/i.test(current?.type ?? '');
  const ids = Object.keys(current?.userAssignedIdentities ?? {});
  const attached = new Set(ids.map(lower));
  const add = unique(change.add ?? []).filter((id) => !attached.has(lower(id)));
  const remove = unique(change.remove ?? []).filter((id) => attached.has(lower(id)));
  if (add.length === 0 && remove.length === 0) return undefined;
  const removed = new Set(remove.map(lower));
  const left = ids.filter((id) => !removed.has(lower(id))).length + add.length;
  if (left === 0) return { type: system ? 'SystemAssigned' : 'None' };
  return {
    type: system ? 'SystemAssigned, UserAssigned' : 'UserAssigned',
    // The SDK's type has no null values; the REST contract does (the removal form above).
    userAssignedIdentities: Object.fromEntries([
      ...add.map((id) => [id, {}]),
      ...remove.map((id) => [id, null]),
    ]) as VirtualMachineScaleSetIdentity['userAssignedIdentities'],
  };
}

/** `ids` without repeats, whatever their case (the first spelling kept). */
function unique(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => !seen.has(lower(id)) && seen.add(lower(id)));
}

// ARM checks the linked action on each identity named (403 LinkedAuthorizationFailed without it).
const PATCH_HINT =
  'the worker needs Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action on the identity (role Managed Identity Operator) besides write on the scale set';

/**
 * What one PATCH is called in heartbeats and messages. It names the change by a digest of its body, so a later
 * attempt of the same activity that computes the same PATCH (the first one is still running: the scale set shows
 * the identities as they were) resumes that operation from its heartbeat (poll.ts) instead of sending it again,
 * and a different PATCH never resumes an operation that is not its own.
 */
function patchName(nodeResourceGroup: string, scaleSet: string, identity: VirtualMachineScaleSetIdentity): string {
  const named = Object.entries(identity.userAssignedIdentities ?? {});
  const body = JSON.stringify([identity.type, named.map(([id, v]) => [lower(id), v === null]).sort()]);
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 10);
  const attach = named.filter(([, v]) => v !== null).length;
  return `update identities (change ${digest}: attach ${attach}, detach ${named.length - attach}) of scale set ${nodeResourceGroup}/${scaleSet}`;
}

/** Sends one identity PATCH (or resumes it) and waits to the end of its operation; the raw SDK error on failure. */
function sendPatch(
  clients: AzureClients,
  subscriptionId: string,
  nodeResourceGroup: string,
  scaleSet: string,
  identity: VirtualMachineScaleSetIdentity,
): Promise<VirtualMachineScaleSet> {
  return resumableOperation(patchName(nodeResourceGroup, scaleSet, identity), (resumeFrom) =>
    clients
      .compute(subscriptionId)
      .virtualMachineScaleSets.beginUpdate(
        nodeResourceGroup,
        scaleSet,
        { identity },
        { updateIntervalInMs: clients.pollIntervalMs, resumeFrom },
      ),
  );
}

/** One identity PATCH on one scale set, waited for to the end; failures classified (errors.ts). */
export async function patchIdentity(
  clients: AzureClients,
  subscriptionId: string,
  nodeResourceGroup: string,
  scaleSet: string,
  identity: VirtualMachineScaleSetIdentity,
): Promise<VirtualMachineScaleSet> {
  const what = patchName(nodeResourceGroup, scaleSet, identity);
  return azureCall(what, () => sendPatch(clients, subscriptionId, nodeResourceGroup, scaleSet, identity), PATCH_HINT);
}

/**
 * Azure refusals of a PATCH that may be one identity's doing (a deleted identity, no assign right on one, one
 * that does not parse, the scale set's limit reached meanwhile): the PATCH is split so the others still go on.
 * Any other refusal (no write on the scale set) would meet every PATCH alike.
 */
const ONE_IDENTITY_CODES = /^(FailedIdentityOperation|LinkedAuthorizationFailed|InvalidParameter|BadRequest)$/i;

/** Identities whose tags are read at once when a batch detaches many. */
const READS_AT_ONCE = 16;

/** `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One identity of the batch and what is to be done with it. */
interface Plan {
  /** The identity as the effective change spelled it. */
  id: string;
  op: 'attach' | 'detach';
  /** Indexes of the changes whose outcome this plan decides. */
  changes: number[];
}

/**
 * Why a detach of user-assigned identity `id` (a valid IDENTITY_ID) by `bindings` must be left undone, or undefined
 * when it may go: only an identity marked as this product's that no other binding uses comes off a scale set.
 */
export async function detachKept(clients: AzureClients, id: string, bindings: string[]): Promise<string | undefined> {
  const [, sub, rg, name] = IDENTITY_ID.exec(id) as unknown as [string, string, string, string];
  const what = `managed identity ${rg}/${name}`;
  const mi = await azureCall(`get ${what}`, () =>
    clients
      .msi(sub)
      .userAssignedIdentities.get(rg, name)
      .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e))),
  );
  // Gone: nothing says whose it was, so the scale set stays as it is.
  if (!mi) return `${what} does not exist: nothing tells whose it was`;
  const ownership = ownershipFromTags(mi.tags);
  if (!ownership) return `${what} is not marked as aks-gmsa's: left attached`;
  // Bindings leaving together all leave: only one that stays keeps it.
  const leaving = new Set(bindings.map(bindingKey));
  const others = ownership.uses.filter((k) => !leaving.has(k));
  if (others.length > 0) return `${what} is still used by ${others.length} other binding(s): left attached`;
  return undefined;
}

export function createScaleSetActivities(clients: AzureClients): Pick<CoordinationActivities, 'applyScaleSetChanges'> {
  async function applyScaleSetChanges(input: ApplyScaleSetChangesInput): Promise<ApplyScaleSetChangesResult> {
    const { target, changes } = input;
    const { subscriptionId, nodeResourceGroup: rg } = target;
    let vmss = await findPoolScaleSet(clients, target);
    const scaleSet = String(vmss.name);
    const outcomes: ScaleSetChangeOutcome[] = changes.map((c) => ({
      requestId: c.requestId,
      scaleSet,
      ok: true,
      changed: false,
    }));
    const set = (indexes: number[], outcome: Partial<ScaleSetChangeOutcome>) => {
      for (const i of indexes) outcomes[i] = { ...(outcomes[i] as ScaleSetChangeOutcome), ...outcome };
    };
    const failed = (indexes: number[], type: string, message: string) =>
      set(indexes, { ok: false, changed: false, error: { type, message } });
    const owner = (c: ScaleSetChange) => (c.owner ?? { binding: c.replyTo }).binding;

    // Per identity, in arrival order; an id that is not a user-assigned identity's fails alone.
    const byIdentity = new Map<string, number[]>();
    changes.forEach((c, i) => {
      if (!IDENTITY_ID.test(c.identityId)) {
        failed([i], ErrorType.InvalidInput, `not a user-assigned identity id: ${c.identityId}`);
        return;
      }
      byIdentity.set(lower(c.identityId), [...(byIdentity.get(lower(c.identityId)) ?? []), i]);
    });

    // The last change of an identity wins; a detach that must be kept is no change, so an attach before it stands.
    const attached = new Set(Object.keys(vmss.identity?.userAssignedIdentities ?? {}).map(lower));
    const plans: Plan[] = [];
    await eachLimited([...byIdentity.entries()], READS_AT_ONCE, async ([key, indexes]) => {
      const change = (i: number) => changes[i] as ScaleSetChange;
      const lastAttach = indexes.findLastIndex((i) => change(i).op === 'attach');
      const attaches = indexes.slice(0, lastAttach + 1).filter((i) => change(i).op === 'attach');
      const supersededDetaches = indexes.slice(0, lastAttach + 1).filter((i) => change(i).op === 'detach');
      const detaches = indexes.slice(lastAttach + 1);
      if (detaches.length > 0) {
        // Not attached and not attached by this batch: so already, nothing to decide.
        if (!attached.has(key) && attaches.length === 0) return;
        const last = change(detaches.at(-1) as number);
        const kept = await detachKept(clients, last.identityId, [...new Set(detaches.map((i) => owner(change(i))))]);
        if (!kept) {
          failed(
            attaches,
            ErrorType.Conflict,
            `identity ${last.identityId} was not attached to scale set ${rg}/${scaleSet}: a later change in the same batch (request ${last.requestId}) detached it`,
          );
          set(supersededDetaches, { kept: `superseded by the later detach (request ${last.requestId})` });
          if (attached.has(key)) {
            plans.push({ id: last.identityId, op: 'detach', changes: [...supersededDetaches, ...detaches] });
          }
          return;
        }
        set(detaches, { kept });
        if (attaches.length === 0) return;
      }
      const last = change(attaches.at(-1) as number);
      set(supersededDetaches, { kept: `superseded by a later attach (request ${last.requestId})` });
      if (!attached.has(key)) plans.push({ id: last.identityId, op: 'attach', changes: attaches });
    });
    // Arrival order (the checks above ran in parallel): the first attaches are the ones that fit under the limit.
    plans.sort((a, b) => Math.min(...a.changes) - Math.min(...b.changes));

    const detach = plans.filter((p) => p.op === 'detach');
    let attach = plans.filter((p) => p.op === 'attach');
    const room = IDENTITIES_PER_SCALE_SET - (attached.size - detach.length);
    for (const p of attach.slice(Math.max(0, room))) {
      failed(
        p.changes,
        ErrorType.PreconditionFailed,
        `identity ${p.id} was not attached: scale set ${rg}/${scaleSet} has ${attached.size} user-assigned identities and would have more than ${IDENTITIES_PER_SCALE_SET}, Azure's limit for one scale set. Share one managed identity among the cluster's bindings (the usual layout), or use options.hostIdentity kubeletIdentity, which attaches nothing.`,
      );
    }
    attach = attach.slice(0, Math.max(0, room));

    // Detaches first, so the scale set never holds more on the way than at the end; at most 150 named per PATCH.
    const ordered = [...detach, ...attach];
    const chunks: Plan[][] = [];
    for (let i = 0; i < ordered.length; i += IDENTITIES_PER_REQUEST) {
      chunks.push(ordered.slice(i, i + IDENTITIES_PER_REQUEST));
    }
    let patches = 0;
    let written = 0;

    /** Writes `chunk`; a refusal that may be one identity's splits it until that identity fails alone. */
    async function write(chunk: Plan[]): Promise<void> {
      const identity = identityChange(vmss.identity, {
        add: chunk.filter((p) => p.op === 'attach').map((p) => p.id),
        remove: chunk.filter((p) => p.op === 'detach').map((p) => p.id),
      });
      if (!identity) return; // So already (another writer got there since the read): nothing to send.
      patches += 1;
      try {
        vmss =
          (await sendPatch(clients, subscriptionId, rg, scaleSet, identity)) ??
          (await findPoolScaleSet(clients, target));
      } catch (e) {
        const failure = azureFailure(e, patchName(rg, scaleSet, identity), PATCH_HINT);
        if (!failure.nonRetryable) throw failure; // Retried as a whole: the next attempt reads what is done.
        const oneIdentity = ONE_IDENTITY_CODES.test(lroError(e)?.code ?? codeOf(e) ?? '');
        if (oneIdentity && chunk.length > 1) {
          const half = Math.ceil(chunk.length / 2);
          await write(chunk.slice(0, half));
          await write(chunk.slice(half));
          return;
        }
        // A refusal every PATCH would meet (no write on the scale set) before anything was written: the batch fails.
        if (!oneIdentity && written === 0) throw failure;
        failed(
          chunk.flatMap((p) => p.changes),
          failure.type ?? ErrorType.InvalidInput,
          failure.message,
        );
        return;
      }
      written += 1;
      for (const p of chunk) set(p.changes, { changed: true });
    }
    for (const chunk of chunks) await write(chunk);
    return { scaleSet, patches, outcomes };
  }

  return { applyScaleSetChanges };
}
