/**
 * The provisioning as a graph (DESIGN "The provisioning workflow"): each step once, with what it needs, how its
 * input is built from the request and the results it needs, its policy, its one-line summary, its skip rule and
 * what a rollback undoes. Order of declaration is DESIGN's table; the runner starts each step when its needs are done.
 *
 * Every step that may write says for whom (`owner`: this binding, and what options.adopt vouches for), and every
 * undo names a removal that decides by the owner markers (DESIGN "A shared world"), so it runs for any step that
 * started, whether or not it reported.
 */
import {
  ApplicationFailure,
  condition,
  metricMeter,
  patched,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  ActivityName,
  ConfirmAksGmsaResult,
  GmsaActivities,
  KdsRootKeyResult,
  ManagedIdentityResult,
  Owner,
} from '../contract/activities.js';
import type { ScaleSetTarget } from '../contract/coordination.js';
import type { LifecycleActivities, ScheduleOperationsInput, ScheduleOperationsResult } from '../contract/lifecycle.js';
import { DEFAULT_REPAIR_EVERY } from '../contract/operations.js';
import { ErrorType } from '../contract/errors.js';
import type { Approval, ProvisionInput, ProvisionOutputs } from './definitions.js';
import { activityOptions, graph, refuse, stepsFor, type StepContext } from './runner.js';
import type { ScaleSetRequests } from './scale-set-requests.js';
import {
  azureLongRunning,
  dataPlane,
  KDS_MAX_WAIT_MS,
  keyVault,
  kubernetes,
  quick,
  removal,
  verification,
} from './step-policies.js';

type Output<N extends ActivityName> = Awaited<ReturnType<GmsaActivities[N]>>;

/** How the KDS wait ended. */
export interface KdsWait {
  approvedBy?: string;
  usableAt: string;
  /** False when the key was usable already when the wait began. */
  waited: boolean;
}

/** How the identity got onto the Windows pools' scale sets. */
export interface AttachIdentityResult {
  /** Every Windows pool's scale set, in the request's pool order. */
  scaleSets: string[];
  /** Those this binding's change was written to (the others had the identity already). */
  attached: string[];
}

/** What each step of the provisioning returns. */
export type ProvisionResults = Omit<{ [N in ActivityName]: Output<N> }, 'ensureManagedIdentity'> & {
  /** Undefined when the step is skipped (hostIdentity kubeletIdentity). */
  ensureManagedIdentity: ManagedIdentityResult | undefined;
  awaitAdApproval: KdsWait;
  /** Undefined when skipped (kubeletIdentity, or a run from before coordination: grantKeyVaultAccess attached it). */
  attachIdentity: AttachIdentityResult | undefined;
  /** Undefined in runs started before the Schedules (patch day-two-schedules). */
  scheduleOperations: ScheduleOperationsResult | undefined;
};

/** What the workflow's handlers keep for the steps. */
export interface ProvisionContext {
  approval(): Approval | undefined;
  /** Scale-set changes go through the coordinators; undefined in runs started before (patch fleet-coordination). */
  scaleSets?: ScaleSetRequests;
  /** The binding's repair and rotation Schedules are made (scheduleOperations); false in runs started before. */
  schedules?: boolean;
}

const step = stepsFor<ProvisionInput, ProvisionResults, ProvisionContext>();
/** The Schedules' activities: the step's (activityId = its name), and the undo's (not one of RemovalActivities). */
const schedules = (activityId?: string) =>
  proxyActivities<LifecycleActivities>(
    activityId
      ? { ...activityOptions(quick, true), activityId, summary: 'the Schedules of repair and password rotation' }
      : { ...activityOptions(removal), summary: 'rollback' },
  );

/** The binding's Schedules as the request asks: repair every options.repairEvery (6h unless "off"), rotation when set. */
function scheduleInput(r: ProvisionInput): ScheduleOperationsInput {
  const repairEvery = r.options.repairEvery ?? DEFAULT_REPAIR_EVERY;
  return {
    bindingId: workflowInfo().workflowId,
    ...(repairEvery !== 'off' ? { repairEvery } : {}),
    ...(r.options.rotatePasswordEvery ? { rotatePasswordEvery: r.options.rotatePasswordEvery } : {}),
    cluster: r.cluster.name,
    credentialSpec: r.gmsa.credentialSpecName,
  };
}
const azureRg = (r: ProvisionInput) => r.azure.resourceGroup ?? r.cluster.resourceGroup;
const verb = (x: { created: boolean; adopted?: boolean }) => (x.created ? 'created' : x.adopted ? 'adopted' : 'found');
/** The binding is the provisioning id, which is the workflow id. */
const owner = (r: ProvisionInput): Owner => ({ binding: workflowInfo().workflowId, adopt: r.options.adopt ?? [] });

export const provisionSteps = graph<ProvisionInput, ProvisionResults, ProvisionContext>([
  step.activity('confirmAksGmsa', {
    needs: [],
    policy: azureLongRunning,
    describe: (r) => `check gMSA on cluster ${r.cluster.name}`,
    input: (r) => ({
      cluster: r.cluster,
      domainFqdn: r.domain.fqdn,
      dnsServer: r.domain.dnsServer,
      enable: r.options.enableGmsaOnCluster,
    }),
    summary: (c) => (c.enabledByThisRun ? 'enabled gMSA on the cluster' : 'gMSA already enabled'),
  }),

  step.activity('ensureManagedIdentity', {
    needs: [],
    skip: (r) => (r.options.hostIdentity === 'managedIdentity' ? undefined : 'hostIdentity is kubeletIdentity'),
    policy: quick,
    describe: (r) => `managed identity ${r.azure.managedIdentity.name}`,
    input: (r) => ({
      subscriptionId: r.cluster.subscriptionId,
      resourceGroup: azureRg(r),
      name: r.azure.managedIdentity.name,
      location: r.azure.location,
      owner: owner(r),
    }),
    summary: (mi) => `${verb(mi)} identity, principal ${mi.principalId}`,
    undo: (r, _mi, done) => {
      const ref = {
        subscriptionId: r.cluster.subscriptionId,
        resourceGroup: azureRg(r),
        name: r.azure.managedIdentity.name,
        owner: owner(r),
      };
      const nodeResourceGroup = done.confirmAksGmsa?.nodeResourceGroup;
      return {
        what: `managed identity ${ref.name}`,
        // Detached from the cluster's scale sets first, even when the grant failed after attaching it (and so left
        // nothing for its own undo): Azure would delete it and leave the scale sets naming it.
        run: (remove) =>
          remove.deleteManagedIdentity(
            nodeResourceGroup
              ? { ...ref, detachFrom: { subscriptionId: r.cluster.subscriptionId, nodeResourceGroup } }
              : ref,
          ),
      };
    },
  }),

  step.activity('ensureKeyVault', {
    needs: [],
    policy: keyVault,
    describe: (r) => `key vault ${r.azure.keyVault.name}`,
    input: (r) => ({
      subscriptionId: r.cluster.subscriptionId,
      resourceGroup: azureRg(r),
      name: r.azure.keyVault.name,
      location: r.azure.location,
      accessMode: r.options.keyVaultAccess,
      owner: owner(r),
    }),
    summary: (v) => `${verb(v)} vault ${v.vaultUri}`,
    undo: (r) => ({
      what: `key vault ${r.azure.keyVault.name}`,
      // Purged when deleted, or the soft-deleted vault would hold the name and a rerun could not create it.
      run: (remove) =>
        remove.deleteKeyVault({
          subscriptionId: r.cluster.subscriptionId,
          resourceGroup: azureRg(r),
          name: r.azure.keyVault.name,
          location: r.azure.location,
          purge: true,
          owner: owner(r),
        }),
    }),
  }),

  // Read-only, before any AD or secret write: a foreign or privileged account fails here, and an existing user of
  // ours tells where its one password lives.
  step.activity('findDomainUser', {
    needs: [],
    policy: quick,
    describe: (r) => `look up domain user ${r.gmsa.standardUser}`,
    input: (r) => ({ domainFqdn: r.domain.fqdn, user: r.gmsa.standardUser, owner: owner(r) }),
    summary: (u) =>
      !u.existing
        ? 'no such user yet: it will be created'
        : u.existing.ownership === 'adopted'
          ? `adopting ${u.existing.dn} (its password will be reset)`
          : `found ${u.existing.dn}, ours${u.existing.canonicalSecretUri ? `; its password is in ${u.existing.canonicalSecretUri}` : ''}`,
  }),

  step.activity('storeUserSecret', {
    needs: ['ensureKeyVault', 'findDomainUser'],
    policy: dataPlane,
    describe: (r) => `secret ${r.azure.keyVault.secretName} for ${r.gmsa.standardUser}`,
    input: (r, { ensureKeyVault: v, findDomainUser: u }) => {
      const secretUri = `${v.vaultUri.replace(/\/+$/, '')}/secrets/${r.azure.keyVault.secretName}`;
      const canonical = u.existing?.ownership === 'ours' ? u.existing.canonicalSecretUri : undefined;
      return {
        vaultUri: v.vaultUri,
        secretName: r.azure.keyVault.secretName,
        domainFqdn: r.domain.fqdn,
        user: r.gmsa.standardUser,
        owner: owner(r),
        // One password per user: an existing user's password is copied from where it lives, never made anew.
        ...(canonical && canonical.toLowerCase() !== secretUri.toLowerCase() ? { copyFrom: canonical } : {}),
      };
    },
    summary: (s) =>
      s.copiedFrom
        ? `copied the user's password from ${s.copiedFrom} to ${s.secretUri}`
        : `${s.created ? 'stored a new' : 'kept the'} secret ${s.secretUri}`,
    undo: (r, _s, done) =>
      done.ensureKeyVault && {
        what: `secret ${r.azure.keyVault.secretName}`,
        run: (remove) =>
          remove.deleteUserSecret({
            vaultUri: done.ensureKeyVault!.vaultUri,
            secretName: r.azure.keyVault.secretName,
            owner: owner(r),
          }),
      },
  }),

  step.activity('getDomainFacts', {
    needs: [],
    policy: quick,
    describe: (r) => `read domain ${r.domain.fqdn}`,
    input: (r) => ({ domainFqdn: r.domain.fqdn }),
    summary: (f) => `${f.netbiosName} (${f.dnsName}), SID ${f.domainSid}`,
  }),

  step.activity('ensureKdsRootKey', {
    needs: [],
    policy: quick,
    describe: () => 'find or create a KDS root key',
    input: (r) => r.kdsRootKey,
    summary: (k) => `${verb(k)} root key ${k.keyId}, usable at ${k.usableAt}`,
  }),

  step.workflow('awaitAdApproval', {
    needs: ['ensureKdsRootKey'],
    run: (r, { ensureKdsRootKey }, ctx) => awaitAdApproval(r, ensureKdsRootKey, ctx),
    summary: (w) =>
      [
        w.approvedBy ? `approved by ${w.approvedBy}` : undefined,
        w.waited ? `KDS root key usable since ${w.usableAt}` : 'KDS root key already usable',
      ]
        .filter(Boolean)
        .join('; '),
  }),

  step.activity('ensureDomainUser', {
    needs: ['storeUserSecret', 'awaitAdApproval', 'ensureKeyVault'],
    policy: quick,
    describe: (r) => `domain user ${r.gmsa.standardUser}`,
    input: (r, { ensureKeyVault: v }) => ({
      domainFqdn: r.domain.fqdn,
      user: r.gmsa.standardUser,
      secret: { vaultUri: v.vaultUri, secretName: r.azure.keyVault.secretName },
      owner: owner(r),
    }),
    summary: (u) => `${verb(u)} ${u.dn}${u.passwordReset ? ' (password reset to the vault secret)' : ''}`,
    undo: (r) => ({
      what: `user ${r.gmsa.standardUser}`,
      run: (remove) =>
        remove.removeDomainUser({ domainFqdn: r.domain.fqdn, user: r.gmsa.standardUser, owner: owner(r) }),
    }),
  }),

  step.activity('ensureGmsa', {
    needs: ['ensureDomainUser'],
    policy: quick,
    describe: (r) => `gMSA ${r.gmsa.name}`,
    input: (r, { ensureDomainUser: u }) => ({
      domainFqdn: r.domain.fqdn,
      name: r.gmsa.name,
      allowedPrincipalSids: [u.sid],
      owner: owner(r),
    }),
    summary: (g) => `${verb(g)} ${g.dn}${g.membershipChanged ? ' (user added to its readers)' : ''}`,
    undo: (r) => ({
      what: `gMSA ${r.gmsa.name}`,
      run: (remove) => remove.removeGmsa({ domainFqdn: r.domain.fqdn, name: r.gmsa.name, owner: owner(r) }),
    }),
  }),

  // Through each Windows pool's scale-set coordinator: Azure serialises writes to a scale set, and the identities of
  // many bindings go on in one PATCH.
  step.workflow('attachIdentity', {
    needs: ['confirmAksGmsa', 'ensureManagedIdentity'],
    skip: (r, ctx) =>
      !ctx.scaleSets
        ? 'grantKeyVaultAccess attaches the identity (a run started before scale-set coordination)'
        : r.options.hostIdentity !== 'managedIdentity'
          ? 'hostIdentity is kubeletIdentity'
          : undefined,
    run: (r, { confirmAksGmsa: c, ensureManagedIdentity: mi }, ctx) => attachIdentity(r, c, mi!, ctx),
    summary: (a) =>
      !a
        ? 'nothing to attach'
        : a.attached.length
          ? `identity attached to ${a.attached.join(', ')}`
          : `identity already on ${a.scaleSets.join(', ')}`,
    undo: (r, _a, done, ctx) => {
      const mi = done.ensureManagedIdentity;
      const c = done.confirmAksGmsa;
      if (!mi || !c || !ctx.scaleSets) return undefined;
      return {
        what: `identity ${r.azure.managedIdentity.name} on the scale sets`,
        run: async () => {
          const outcomes = await ctx.scaleSets!.change(scaleSetsOf(r, c), 'detach', mi.id, owner(r));
          throwIfFailed(outcomes);
          return outcomes;
        },
      };
    },
  }),

  // After the secret: a role assignment is scoped to it, so it must exist first.
  step.activity('grantKeyVaultAccess', {
    needs: ['confirmAksGmsa', 'ensureManagedIdentity', 'ensureKeyVault', 'storeUserSecret'],
    policy: azureLongRunning,
    describe: (r) =>
      `let ${r.options.hostIdentity === 'managedIdentity' ? 'Windows hosts' : 'the kubelet identity'} read the secret`,
    input: (r, { confirmAksGmsa: c, ensureManagedIdentity: mi, ensureKeyVault: v }, ctx) => ({
      cluster: r.cluster,
      nodeResourceGroup: c.nodeResourceGroup,
      vault: {
        id: v.id,
        subscriptionId: r.cluster.subscriptionId,
        resourceGroup: azureRg(r),
        name: r.azure.keyVault.name,
      },
      hostIdentity: r.options.hostIdentity,
      managedIdentity: mi && { id: mi.id, principalId: mi.principalId },
      kubeletIdentity: c.kubeletIdentity,
      // An adopted vault keeps the access model it has.
      accessMode: v.accessMode ?? r.options.keyVaultAccess,
      secretName: r.azure.keyVault.secretName,
      owner: owner(r),
      // Coordinated runs attach the identity in attachIdentity; this step then only grants read.
      ...(ctx.scaleSets ? { attachToScaleSets: false } : {}),
    }),
    summary: (a) =>
      a.scope === 'vault'
        ? `${a.principalId} may read every secret of the vault (an access policy cannot be scoped to one secret)`
        : `${a.principalId} may read the secret only (${a.access} on the secret)`,
    undo: (r, _a, done, ctx) => {
      const mi = done.ensureManagedIdentity;
      // Coordinated runs detach the identity in attachIdentity's undo.
      const cluster = ctx.scaleSets ? undefined : done.confirmAksGmsa;
      const principalId = mi?.principalId ?? done.confirmAksGmsa?.kubeletIdentity?.objectId;
      if (!principalId) return undefined;
      const vault = {
        subscriptionId: r.cluster.subscriptionId,
        resourceGroup: azureRg(r),
        name: r.azure.keyVault.name,
      };
      return {
        what: `read access of ${principalId}${mi && cluster ? ' and the identity on the scale sets' : ''}`,
        run: async (remove) => {
          await remove.revokeKeyVaultAccess({
            vault,
            principalId,
            secretName: r.azure.keyVault.secretName,
            owner: owner(r),
          });
          if (mi && cluster) {
            await remove.removeScaleSetIdentity({
              cluster: r.cluster,
              nodeResourceGroup: cluster.nodeResourceGroup,
              identityId: mi.id,
              owner: owner(r),
            });
          }
        },
      };
    },
  }),

  step.activity('ensureCredentialSpec', {
    needs: ['getDomainFacts', 'ensureGmsa', 'ensureManagedIdentity', 'storeUserSecret', 'confirmAksGmsa'],
    policy: kubernetes,
    describe: (r) => `credential spec ${r.gmsa.credentialSpecName}`,
    input: (r, { getDomainFacts: domain, ensureManagedIdentity: mi, storeUserSecret: s, confirmAksGmsa: c }) => {
      const principalId = mi?.principalId ?? c.kubeletIdentity?.objectId;
      if (!principalId) throw refuse('the cluster reports no kubelet identity; use hostIdentity managedIdentity');
      return {
        cluster: r.cluster,
        specName: r.gmsa.credentialSpecName,
        gmsaName: r.gmsa.name,
        domain,
        hostAccount: { principalId, secretUri: s.secretUri },
        rbac: r.options.rbac,
        owner: owner(r),
      };
    },
    summary: (sp) =>
      `${sp.changed ? 'wrote' : 'unchanged'} spec ${sp.name}${sp.adopted?.length ? ` (adopted ${sp.adopted.join(', ')})` : ''}`,
    undo: (r) => ({
      what: `credential spec ${r.gmsa.credentialSpecName}`,
      run: (remove) =>
        remove.removeCredentialSpec({
          cluster: r.cluster,
          specName: r.gmsa.credentialSpecName,
          rbac: r.options.rbac,
          owner: owner(r),
        }),
    }),
  }),

  step.activity('verifyChain', {
    needs: ['ensureCredentialSpec', 'grantKeyVaultAccess', 'storeUserSecret', 'attachIdentity'],
    policy: verification,
    describe: () => 'verify secret → AD → gMSA password → RBAC',
    input: (r, { storeUserSecret: s }) => ({
      cluster: r.cluster,
      domainFqdn: r.domain.fqdn,
      gmsaName: r.gmsa.name,
      specName: r.gmsa.credentialSpecName,
      secretUri: s.secretUri,
      rbac: r.options.rbac,
    }),
    summary: (v) => v.checks.map((c) => `${c.ok ? '✔' : '✖'} ${c.link}`).join(', '),
  }),

  // Last, once the chain works: a repair Schedule (options.repairEvery, 6h unless "off") and, when asked, a
  // password rotation Schedule (options.rotatePasswordEvery). A rerun with other options changes or removes them.
  step.workflow('scheduleOperations', {
    needs: ['verifyChain'],
    skip: (_r, ctx) => (ctx.schedules ? undefined : 'a run started before the operations had Schedules'),
    // An activity of Temporal's own (the worker's client), under this step's name like every other step's.
    run: (r) => schedules('scheduleOperations').ensureOperationSchedules(scheduleInput(r)),
    summary: (s) =>
      !s
        ? 'no Schedule'
        : [
            s.schedules.length
              ? `Schedules ${s.schedules.join(', ')}${s.changed.length ? '' : ' (unchanged)'}`
              : 'no Schedule',
            ...(s.removed.length ? [`removed ${s.removed.join(', ')}`] : []),
          ].join('; '),
    undo: () => ({
      what: 'the Schedules of repair and password rotation',
      run: () => schedules().deleteOperationSchedules({ bindingId: workflowInfo().workflowId }),
    }),
  }),
]);

/** The workflow's outputs, from the step results. */
export function provisionOutputs(r: ProvisionResults): ProvisionOutputs {
  return {
    clusterId: r.confirmAksGmsa.clusterId,
    managedIdentityId: r.ensureManagedIdentity?.id,
    keyVaultId: r.ensureKeyVault.id,
    secretUri: r.storeUserSecret.secretUri,
    domainUserDn: r.ensureDomainUser.dn,
    gmsaDn: r.ensureGmsa.dn,
    credentialSpecName: r.ensureCredentialSpec.name,
    hostPrincipalId: r.grantKeyVaultAccess.principalId,
    kdsRootKeyId: r.ensureKdsRootKey.keyId,
  };
}

/** The scale set of every Windows pool the request names. */
function scaleSetsOf(r: ProvisionInput, c: ConfirmAksGmsaResult): ScaleSetTarget[] {
  return r.cluster.windowsNodePools.map((pool) => ({
    subscriptionId: r.cluster.subscriptionId,
    nodeResourceGroup: c.nodeResourceGroup,
    pool,
  }));
}

/** A coordinator's refusal (past Azure's identity limit, no such pool, no permission) fails the step with its reason. */
function throwIfFailed(outcomes: { ok: boolean; error?: { message: string; type: string } }[]): void {
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length === 0) return;
  throw ApplicationFailure.nonRetryable(
    failed.map((o) => o.error?.message ?? 'refused').join('; '),
    failed[0]!.error?.type ?? ErrorType.PreconditionFailed,
  );
}

async function attachIdentity(
  r: ProvisionInput,
  c: ConfirmAksGmsaResult,
  mi: ManagedIdentityResult,
  ctx: ProvisionContext & StepContext,
): Promise<AttachIdentityResult> {
  const targets = scaleSetsOf(r, c);
  const pools = targets.map((t) => t.pool).join(', ');
  ctx.waiting(undefined, `queueing the identity at the scale-set coordinator of pool ${pools}`);
  const outcomes = await ctx.scaleSets!.change(targets, 'attach', mi.id, owner(r), () =>
    ctx.waiting(undefined, `queued at the scale-set coordinator of pool ${pools}: waiting for its PATCH`),
  );
  throwIfFailed(outcomes);
  return {
    scaleSets: outcomes.map((o, i) => o.scaleSet ?? targets[i]!.pool),
    attached: outcomes.flatMap((o, i) => (o.changed ? [o.scaleSet ?? targets[i]!.pool] : [])),
  };
}

/**
 * `approval-wait-timers`: the approval wait is a timer with a summary saying what it waits for and how to approve
 * (Timeline, Event History and the pending view show it), renewed each APPROVAL_TIMER_MS until the approval comes;
 * before it, a bare condition that the UI did not show.
 */
export const APPROVAL_WAIT_TIMERS = 'approval-wait-timers';
/** One approval timer's length: a day, so a wait of a week is seven timers, not one event per minute. */
export const APPROVAL_TIMER_MS = 24 * 60 * 60 * 1000;

/**
 * Waits for approval as metrics through the SDK's meter (the worker's Prometheus exporter; a replay counts nothing
 * twice): how many runs began waiting, and how long until approved, by cluster. Made on use: the meter exists
 * only inside a workflow, and tests import this module outside one.
 */
const approvalWaits = () =>
  metricMeter.createCounter('gmsa_approval_waits', 'waits', 'provisionings that began waiting for AD approval');
const approvalWaitSeconds = () =>
  metricMeter.createHistogram(
    'gmsa_approval_wait_seconds',
    'float',
    's',
    'how long a provisioning waited until an AD operator approved',
  );

/** What the approval timer's summary says: what it waits for, and how to end the wait. */
export const approvalTimerSummary = (provisioningId: string): string =>
  `waiting for an AD operator's approval: POST /v1/provisionings/${provisioningId}/approve`;

/**
 * The KDS wait: until the root key is usable (10 hours at most) and, with requireAdApproval, until an approver has
 * approved. An approval never outruns the key: approving early only ends the approval half of the wait.
 */
async function awaitAdApproval(
  request: ProvisionInput,
  key: KdsRootKeyResult,
  ctx: ProvisionContext & StepContext,
): Promise<KdsWait> {
  const usableAt = Date.parse(key.usableAt);
  const left = () => Math.min(Math.max(0, usableAt - Date.now()), KDS_MAX_WAIT_MS);
  const waited = left() > 0;
  if (request.options.requireAdApproval && !ctx.approval()) {
    ctx.waiting(
      undefined,
      `waiting for an AD operator to approve (POST …/approve)${waited ? `; the KDS root key is usable at ${key.usableAt}` : ''}`,
    );
    const cluster = { cluster: request.cluster.name.toLowerCase() };
    const since = Date.now();
    approvalWaits().add(1, cluster);
    const approved = () => ctx.approval() !== undefined;
    if (patched(APPROVAL_WAIT_TIMERS)) {
      const summary = approvalTimerSummary(workflowInfo().workflowId);
      let done = false;
      while (!done) done = await condition(approved, APPROVAL_TIMER_MS, { summary });
    } else {
      await condition(approved);
    }
    approvalWaitSeconds().record((Date.now() - since) / 1000, cluster);
  }
  if (left() > 0) {
    const by = ctx.approval()?.by;
    ctx.waiting(
      new Date(Date.now() + left()).toISOString(),
      `${by ? `approved by ${by}; ` : ''}waiting for the KDS root key, usable at ${key.usableAt}`,
    );
    await sleep(left(), {
      summary: `${by ? `approved by ${by}; ` : ''}KDS root key becomes usable at ${key.usableAt}`,
    });
  }
  return { approvedBy: ctx.approval()?.by, usableAt: key.usableAt, waited };
}
