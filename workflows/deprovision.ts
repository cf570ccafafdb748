/**
 * deprovisionGmsa (DESIGN "Day 2", issue 12 item 1): removes what the binding owns, newest first, through the same
 * removals a rollback uses, each deciding by the owner markers (DESIGN "A shared world"): an object another binding
 * also uses only loses this binding's mark, a foreign one is left as it is. Parity with every Remove-* cmdlet of
 * the AksGMSA module, plus the revoke of the hosts' Key Vault read that the module lacks. Never the KDS root key.
 *
 * Order: the Schedules first (the newest thing a provisioning makes, and a scheduled repair would put back what is
 * being removed), then the spec and its RBAC (no new pod can use the gMSA), the gMSA, the user, the hosts' read, the
 * secret, the identity on the scale sets (through their coordinators, which keep an identity another binding still
 * uses), the vault and the identity, and last, only when asked and no other spec is left, gMSA on the cluster.
 *
 * Names come from the binding's outputs when its provisioning completed (identity id, vault id, secret URI,
 * principal id), else from its request: a provisioning that failed half way is removed as far as it got. Every
 * removal is idempotent, so a rerun changes nothing, and what soft delete keeps does not block a new provisioning
 * of the same request: the vault is purged with its deletion (its global name is free again).
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import { ErrorType } from '../contract/errors.js';
import type { GmsaActivities, RemovalResult } from '../contract/activities.js';
import type { ScaleSetTarget } from '../contract/coordination.js';
import type { ClusterFacts } from '../contract/inspection.js';
import type { CredentialSpecEntry } from '../contract/lifecycle.js';
import type { BindingRecord, DeprovisionInput } from '../contract/operations.js';
import type { ProvisionInput } from './definitions.js';
import { bindingOwner, outputsOf, readBindingPolicy, requestOf, runOperation } from './operation.js';
import { activityOptions, graph, stepsFor, type StepContext } from './runner.js';
import { ScaleSetRequests } from './scale-set-requests.js';
import { azureLongRunning, quick, removal } from './step-policies.js';

export const DEPROVISION_STEPS = [
  'readBinding',
  'inspectCluster',
  'planRemovals',
  'deleteOperationSchedules',
  'removeCredentialSpec',
  'removeGmsa',
  'removeDomainUser',
  'findKeyVault',
  'revokeKeyVaultAccess',
  'deleteUserSecret',
  'detachIdentity',
  'deleteKeyVault',
  'deleteManagedIdentity',
  'listCredentialSpecs',
  'disableClusterGmsa',
] as const;
export type DeprovisionStep = (typeof DEPROVISION_STEPS)[number];

/** What the binding is, resolved once from its outputs (or its request), for every removal after it. */
export interface RemovalPlan {
  request: ProvisionInput;
  vault: { subscriptionId: string; resourceGroup: string; name: string; location: string };
  /** The vault's data-plane URI: from the secret URI recorded, else the public cloud's name for it. */
  vaultUri: string;
  /** The managed identity's resource id; undefined with hostIdentity kubeletIdentity. */
  identityId?: string;
  /** Who the hosts read the secret as; undefined when the provisioning never got that far. */
  principalId?: string;
  nodeResourceGroup: string;
  /** The Windows pools whose scale set names the identity now. */
  poolsWithIdentity: string[];
}

export interface DetachResult {
  detached: string[];
  /** Scale sets that keep the identity, with why (another binding uses it; not ours). */
  kept: string[];
}

interface DeprovisionResults {
  readBinding: BindingRecord;
  inspectCluster: ClusterFacts;
  planRemovals: RemovalPlan;
  deleteOperationSchedules: { deleted: string[] };
  removeCredentialSpec: Awaited<ReturnType<GmsaActivities['removeCredentialSpec']>>;
  removeGmsa: RemovalResult;
  removeDomainUser: RemovalResult;
  findKeyVault: { exists: boolean };
  revokeKeyVaultAccess: Awaited<ReturnType<GmsaActivities['revokeKeyVaultAccess']>> | undefined;
  deleteUserSecret: RemovalResult | undefined;
  detachIdentity: DetachResult | undefined;
  deleteKeyVault: Awaited<ReturnType<GmsaActivities['deleteKeyVault']>>;
  deleteManagedIdentity: Awaited<ReturnType<GmsaActivities['deleteManagedIdentity']>> | undefined;
  listCredentialSpecs: { specs: CredentialSpecEntry[] };
  disableClusterGmsa: { disabled: boolean } | undefined;
}

export interface DeprovisionOutputs {
  /** What is gone: `kind name` each. */
  removed: string[];
  /** What stays, and why (another binding uses it, adopted, not ours). */
  kept: string[];
  /** Removals that did not apply, and why. */
  skipped: string[];
}

/**
 * Workflow state the steps share: the plan (for the skip rules, which see only the input) and the specs left on
 * the cluster. Held in an object of its own, since a workflow step gets a copy of the context's top level.
 */
interface DeprovisionContext {
  scaleSets: ScaleSetRequests;
  state: { plan?: RemovalPlan; vaultGone?: boolean; otherSpecs?: string[] };
}

const step = stepsFor<DeprovisionInput, DeprovisionResults, DeprovisionContext>();
const lower = (s: string) => s.toLowerCase();
const azureRg = (r: ProvisionInput) => r.azure.resourceGroup ?? r.cluster.resourceGroup;
const plan = (ctx: DeprovisionContext) => ctx.state.plan!;
const removalOf = (r: RemovalResult, what: string) =>
  r.removed ? `removed ${what}` : r.kept ? `kept ${what}: ${r.kept}` : `${what}: not there`;

function planRemovals(b: BindingRecord, facts: ClusterFacts, ctx: DeprovisionContext) {
  const r = requestOf(b);
  const o = outputsOf(b);
  const rg = azureRg(r);
  const managed = r.options.hostIdentity === 'managedIdentity';
  const identityId = managed
    ? (o?.managedIdentityId ??
      `/subscriptions/${r.cluster.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${r.azure.managedIdentity.name}`)
    : undefined;
  const secretUri = o?.secretUri;
  const p: RemovalPlan = {
    request: r,
    vault: {
      subscriptionId: r.cluster.subscriptionId,
      resourceGroup: rg,
      name: r.azure.keyVault.name,
      location: r.azure.location,
    },
    vaultUri: secretUri
      ? `${secretUri.slice(0, secretUri.toLowerCase().indexOf('/secrets/'))}/`
      : `https://${r.azure.keyVault.name}.vault.azure.net/`,
    identityId,
    // A kubelet-identity binding granted the cluster's own identity: that one is known from the cluster itself.
    principalId: o?.hostPrincipalId ?? (managed ? undefined : facts.kubeletIdentity?.objectId),
    nodeResourceGroup: facts.nodeResourceGroup,
    poolsWithIdentity: identityId
      ? facts.pools
          .filter((pool) => pool.osType === 'Windows' && pool.identities.some((id) => lower(id) === lower(identityId)))
          .map((pool) => pool.name)
      : [],
  };
  ctx.state.plan = p;
  return p;
}

async function detachIdentity(bindingId: string, ctx: DeprovisionContext & StepContext): Promise<DetachResult> {
  const p = plan(ctx);
  const targets: ScaleSetTarget[] = p.poolsWithIdentity.map((pool) => ({
    subscriptionId: p.request.cluster.subscriptionId,
    nodeResourceGroup: p.nodeResourceGroup,
    pool,
  }));
  const pools = p.poolsWithIdentity.join(', ');
  ctx.waiting(undefined, `queueing the detach at the scale-set coordinator of pool ${pools}`);
  const outcomes = await ctx.scaleSets.change(targets, 'detach', p.identityId!, bindingOwner(bindingId), () =>
    ctx.waiting(undefined, `queued at the scale-set coordinator of pool ${pools}: waiting for its PATCH`),
  );
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length) {
    // A refusal the coordinator could not get past (no permission, no such scale set): the step fails with it.
    throw ApplicationFailure.nonRetryable(
      failed.map((o) => o.error?.message ?? 'refused').join('; '),
      failed[0]!.error?.type ?? 'PreconditionFailed',
    );
  }
  const name = (i: number) => outcomes[i]!.scaleSet ?? targets[i]!.pool;
  return {
    detached: outcomes.flatMap((o, i) => (o.changed ? [name(i)] : [])),
    kept: outcomes.flatMap((o, i) => (o.kept ? [`${name(i)}: ${o.kept}`] : [])),
  };
}

const VAULT_GONE = 'the vault is gone, and its grants and secrets with it';

const { listSecretReaders } = proxyActivities<GmsaActivities>({
  ...activityOptions(quick),
  activityId: 'findKeyVault',
  summary: 'is the vault still there',
});

const { listCredentialSpecs } = proxyActivities<GmsaActivities>({
  ...activityOptions(quick),
  activityId: 'listCredentialSpecs',
  summary: 'list the credential specs left on the cluster',
});

const deprovisionSteps = graph<DeprovisionInput, DeprovisionResults, DeprovisionContext>([
  step.activity('readBinding', {
    needs: [],
    policy: readBindingPolicy,
    describe: (i) => `read binding ${i.bindingId}`,
    input: (i) => ({ bindingId: i.bindingId, requireSettled: true }),
    summary: (b) => `provisioning ${b.status}: spec ${b.request.gmsa.credentialSpecName} on ${b.request.cluster.name}`,
  }),

  step.activity('inspectCluster', {
    needs: ['readBinding'],
    policy: quick,
    describe: () => "read the cluster's pools and their identities",
    input: (_i, { readBinding: b }) => ({ cluster: requestOf(b).cluster }),
    summary: (f) => `${f.pools.filter((p) => p.osType === 'Windows').length} Windows pool(s) in ${f.nodeResourceGroup}`,
  }),

  step.workflow('planRemovals', {
    needs: ['readBinding', 'inspectCluster'],
    run: async (_i, { readBinding: b, inspectCluster: f }, ctx) => planRemovals(b, f, ctx),
    summary: (p) =>
      [
        p.identityId
          ? `identity ${p.identityId.split('/').pop()} on ${p.poolsWithIdentity.join(', ') || 'no scale set'}`
          : 'kubelet identity',
        `vault ${p.vault.name}`,
        p.principalId ? `reader ${p.principalId}` : 'no grant recorded',
      ].join('; '),
  }),

  step.activity('deleteOperationSchedules', {
    needs: ['planRemovals'],
    policy: quick,
    describe: (i) => `delete the Schedules of ${i.bindingId}`,
    input: (i) => ({ bindingId: i.bindingId }),
    summary: (s) => (s.deleted.length ? `deleted ${s.deleted.join(', ')}` : 'no Schedule there'),
  }),

  step.activity('removeCredentialSpec', {
    needs: ['deleteOperationSchedules'],
    policy: removal,
    describe: (i) => `credential spec and RBAC of ${i.bindingId}`,
    input: (i, _got, ctx) => {
      const r = plan(ctx).request;
      return {
        cluster: r.cluster,
        specName: r.gmsa.credentialSpecName,
        rbac: r.options.rbac,
        owner: bindingOwner(i.bindingId),
      };
    },
    summary: (s) =>
      [
        s.removed.length ? `removed ${s.removed.join(', ')}` : 'nothing to remove',
        ...s.kept.map((k) => `kept ${k}`),
      ].join('; '),
  }),

  step.activity('removeGmsa', {
    needs: ['removeCredentialSpec'],
    policy: removal,
    describe: (i) => `gMSA of ${i.bindingId}`,
    input: (i, _got, ctx) => {
      const r = plan(ctx).request;
      return { domainFqdn: r.domain.fqdn, name: r.gmsa.name, owner: bindingOwner(i.bindingId) };
    },
    summary: (g) => removalOf(g, g.dn ?? 'gMSA'),
  }),

  step.activity('removeDomainUser', {
    needs: ['removeGmsa'],
    policy: removal,
    describe: (i) => `standard user of ${i.bindingId}`,
    input: (i, _got, ctx) => {
      const r = plan(ctx).request;
      return { domainFqdn: r.domain.fqdn, user: r.gmsa.standardUser, owner: bindingOwner(i.bindingId) };
    },
    summary: (u) => removalOf(u, u.dn ?? 'user'),
  }),

  // Whether the vault is still there: a rerun (or a vault removed by hand) has none, and its data plane no longer
  // answers; its grants and secrets went with it.
  step.workflow('findKeyVault', {
    needs: ['removeDomainUser'],
    run: async (_i, _got, ctx) => {
      const { subscriptionId, resourceGroup, name } = plan(ctx).vault;
      const secretName = plan(ctx).request.azure.keyVault.secretName;
      try {
        await listSecretReaders({ vault: { subscriptionId, resourceGroup, name }, secretName });
        return { exists: true };
      } catch (e) {
        if (!(
          e instanceof ActivityFailure &&
          e.cause instanceof ApplicationFailure &&
          e.cause.type === ErrorType.NotFound
        ))
          throw e;
        ctx.state.vaultGone = true;
        return { exists: false };
      }
    },
    summary: (v) => (v.exists ? 'the vault is there' : 'the vault is gone'),
  }),

  step.activity('revokeKeyVaultAccess', {
    needs: ['findKeyVault'],
    skip: (_i, ctx) =>
      ctx.state.vaultGone
        ? VAULT_GONE
        : plan(ctx).principalId
          ? undefined
          : 'the provisioning recorded no reader: it never granted read on the vault',
    policy: azureLongRunning,
    describe: () => "the hosts' read on the secret",
    input: (i, _got, ctx) => {
      const p = plan(ctx);
      return {
        vault: { subscriptionId: p.vault.subscriptionId, resourceGroup: p.vault.resourceGroup, name: p.vault.name },
        principalId: p.principalId!,
        secretName: p.request.azure.keyVault.secretName,
        owner: bindingOwner(i.bindingId),
      };
    },
    summary: (a) =>
      [
        a.revoked.length ? `revoked ${a.revoked.join(', ')}` : 'no grant there',
        ...(a.kept ?? []).map((k) => `kept ${k}`),
      ].join('; '),
  }),

  step.activity('deleteUserSecret', {
    needs: ['revokeKeyVaultAccess'],
    skip: (_i, ctx) => (ctx.state.vaultGone ? VAULT_GONE : undefined),
    policy: removal,
    describe: (i) => `secret of ${i.bindingId}`,
    input: (i, _got, ctx) => {
      const p = plan(ctx);
      return {
        vaultUri: p.vaultUri,
        secretName: p.request.azure.keyVault.secretName,
        owner: bindingOwner(i.bindingId),
      };
    },
    summary: (s) => removalOf(s, s.dn ?? 'secret'),
  }),

  step.workflow('detachIdentity', {
    needs: ['deleteUserSecret'],
    skip: (_i, ctx) =>
      !plan(ctx).identityId
        ? 'hostIdentity is kubeletIdentity: AKS keeps that one on its scale sets'
        : plan(ctx).poolsWithIdentity.length === 0
          ? 'no Windows scale set names the identity'
          : undefined,
    run: (i, _got, ctx) => detachIdentity(i.bindingId, ctx),
    summary: (d) =>
      !d
        ? 'nothing to detach'
        : [
            d.detached.length ? `detached from ${d.detached.join(', ')}` : 'detached nowhere',
            ...d.kept.map((k) => `kept on ${k}`),
          ].join('; '),
  }),

  step.activity('deleteKeyVault', {
    needs: ['detachIdentity'],
    policy: azureLongRunning,
    describe: (i) => `key vault of ${i.bindingId}`,
    // Purged with its deletion: a soft-deleted vault would hold the global name and a new provisioning could not
    // create it again.
    input: (i, _got, ctx) => ({ ...plan(ctx).vault, purge: true, owner: bindingOwner(i.bindingId) }),
    summary: (v) =>
      v.deleted
        ? `deleted${v.purged ? ' and purged' : ''} vault`
        : v.kept
          ? `kept vault: ${v.kept}`
          : 'vault not there',
  }),

  step.activity('deleteManagedIdentity', {
    needs: ['deleteKeyVault'],
    skip: (_i, ctx) => (plan(ctx).identityId ? undefined : 'hostIdentity is kubeletIdentity: no identity of ours'),
    policy: azureLongRunning,
    describe: (i) => `managed identity of ${i.bindingId}`,
    input: (i, _got, ctx) => {
      const p = plan(ctx);
      return {
        subscriptionId: p.request.cluster.subscriptionId,
        resourceGroup: azureRg(p.request),
        name: p.request.azure.managedIdentity.name,
        // Deleted only when no binding uses it; then detached from any scale set still naming it first (a pool
        // added since the inspection), so none is left naming a deleted identity.
        detachFrom: { subscriptionId: p.request.cluster.subscriptionId, nodeResourceGroup: p.nodeResourceGroup },
        owner: bindingOwner(i.bindingId),
      };
    },
    summary: (m) =>
      !m ? 'no identity' : m.deleted ? 'deleted identity' : m.kept ? `kept identity: ${m.kept}` : 'identity not there',
  }),

  step.workflow('listCredentialSpecs', {
    needs: ['deleteManagedIdentity'],
    skip: (i) => (i.disableGmsa ? undefined : 'disableGmsa was not asked for'),
    run: async (i, _got, ctx) => {
      const left = await listCredentialSpecs({ cluster: plan(ctx).request.cluster });
      const ours = lower(plan(ctx).request.gmsa.credentialSpecName);
      // Any spec but this binding's own counts, ours or foreign (an adopted one it left too): workloads need gMSA.
      ctx.state.otherSpecs = left.specs
        .filter((s) => !(lower(s.name) === ours && s.binding === i.bindingId))
        .map((s) => s.name);
      return left;
    },
    summary: (l) => `${l.specs.length} spec(s) on the cluster: ${l.specs.map((s) => s.name).join(', ') || 'none'}`,
  }),

  step.activity('disableClusterGmsa', {
    needs: ['listCredentialSpecs'],
    skip: (i, ctx) =>
      !i.disableGmsa
        ? 'disableGmsa was not asked for'
        : ctx.state.otherSpecs?.length
          ? `other credential specs are left on the cluster (${ctx.state.otherSpecs.join(', ')}): their workloads need gMSA`
          : undefined,
    policy: azureLongRunning,
    describe: () => 'turn gMSA off on the cluster',
    input: (_i, _got, ctx) => ({ cluster: plan(ctx).request.cluster }),
    summary: (d) => (d.disabled ? 'turned gMSA off on the cluster' : 'gMSA was off already'),
  }),
]);

/** What was removed, what stays and why, from the step results (and, for what was skipped, the skip rules). */
function outputs(i: DeprovisionInput, ctx: DeprovisionContext, r: DeprovisionResults): DeprovisionOutputs {
  const removed: string[] = [];
  const kept: string[] = [];
  const skipped: string[] = [];
  const p = r.planRemovals;
  const one = (x: RemovalResult, what: string) => {
    if (x.removed) removed.push(what);
    else if (x.kept) kept.push(`${what}: ${x.kept}`);
  };
  removed.push(...r.deleteOperationSchedules.deleted.map((s) => `Schedule ${s}`));
  removed.push(...r.removeCredentialSpec.removed);
  kept.push(...r.removeCredentialSpec.kept);
  one(r.removeGmsa, `gMSA ${p.request.gmsa.name}`);
  one(r.removeDomainUser, `user ${p.request.gmsa.standardUser}`);
  if (r.revokeKeyVaultAccess) {
    removed.push(...r.revokeKeyVaultAccess.revoked.map((g) => `read access ${g}`));
    kept.push(...(r.revokeKeyVaultAccess.kept ?? []));
  }
  if (r.deleteUserSecret) one(r.deleteUserSecret, `secret ${p.request.azure.keyVault.secretName}`);
  if (r.detachIdentity) {
    removed.push(...r.detachIdentity.detached.map((s) => `identity on scale set ${s}`));
    kept.push(...r.detachIdentity.kept.map((k) => `identity on scale set ${k}`));
  }
  const v = r.deleteKeyVault;
  if (v.deleted) removed.push(`key vault ${p.vault.name}${v.purged ? ' (purged)' : ''}`);
  else if (v.kept) kept.push(`key vault ${p.vault.name}: ${v.kept}`);
  const mi = r.deleteManagedIdentity;
  if (mi?.deleted) removed.push(`managed identity ${p.request.azure.managedIdentity.name}`);
  else if (mi?.kept) kept.push(`managed identity ${p.request.azure.managedIdentity.name}: ${mi.kept}`);
  if (r.disableClusterGmsa?.disabled) removed.push(`gMSA on cluster ${p.request.cluster.name}`);
  for (const s of deprovisionSteps.steps) {
    const why = r[s.name as DeprovisionStep] === undefined ? s.skip?.(i, ctx) : undefined;
    if (why) skipped.push(`${s.name}: ${why}`);
  }
  return { removed, kept, skipped };
}

export async function deprovisionGmsa(input: DeprovisionInput): Promise<DeprovisionOutputs> {
  const context: DeprovisionContext = { scaleSets: new ScaleSetRequests(), state: {} };
  const result = await runOperation({
    names: DEPROVISION_STEPS,
    graph: deprovisionSteps,
    input,
    context,
    outputs: (r) => outputs(input, context, r),
  });
  return result;
}
