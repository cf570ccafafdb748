/**
 * repairGmsa (DESIGN "Day 2", issue 12 item 3): the chain check, then converge what drifts on day 2, then the chain
 * check again, which must pass. What drifts is on record: AKS upgrades, scale-outs and OS migrations leave Windows
 * scale sets without the user-assigned identity (Azure/AKS#1903, aad-pod-identity#639), and a pool added since the
 * provisioning never had it; a grant or a spec edited by hand. So the identity goes on EVERY Windows pool's scale
 * set the cluster has now (inspectCluster, not the request's list), through each scale set's coordinator; the Key
 * Vault read is granted again (idempotent: no write when it is there); the spec and its RBAC are written again
 * from the binding's request (ensureCredentialSpec rewrites only what differs).
 *
 * The first chain check's failure is a finding, not the end: it is what a repair is for. Each step's summary says
 * what it found and fixed; the result lists both, and the counters gmsa_repair_drift_found / _fixed count them.
 */
import { ActivityFailure, ApplicationFailure, metricMeter, proxyActivities } from '@temporalio/workflow';
import type {
  ChainCheck,
  CredentialSpecResult,
  GmsaActivities,
  GrantKeyVaultAccessResult,
  VerifyChainResult,
} from '../contract/activities.js';
import type { ScaleSetTarget } from '../contract/coordination.js';
import type { DomainFacts } from '../domain/credential-spec.js';
import { ErrorType } from '../contract/errors.js';
import type { ClusterFacts, ListSecretReadersResult } from '../contract/inspection.js';
import type { BindingRecord, RepairInput } from '../contract/operations.js';
import type { ProvisionInput, ProvisionOutputs } from './definitions.js';
import { bindingOwner, chainInput, outputsOf, readBindingPolicy, requestOf, runOperation } from './operation.js';
import { activityOptions, graph, refuse, stepsFor, type StepContext } from './runner.js';
import { ScaleSetRequests } from './scale-set-requests.js';
import { azureLongRunning, quick, verification } from './step-policies.js';

export const REPAIR_STEPS = [
  'readBinding',
  'chainBefore',
  'inspectCluster',
  'listSecretReaders',
  'getDomainFacts',
  'attachIdentity',
  'grantKeyVaultAccess',
  'ensureCredentialSpec',
  'verifyChain',
] as const;

/** The first chain check: passed, or the link it broke at (a finding). */
export interface ChainBefore {
  ok: boolean;
  checks?: ChainCheck[];
  error?: string;
}

/** A converge step's result: what it saw drifted and what it put back. */
export interface Converged {
  found: string[];
  fixed: string[];
}

export interface AttachResult extends Converged {
  /** The Windows pools of the cluster now, each checked. */
  windowsPools: string[];
  /** The scale sets the identity was written to. */
  attached: string[];
  /** Why nothing was checked (hostIdentity kubeletIdentity), when so. */
  skipped?: string;
}

export interface GrantResult extends Converged {
  grant: GrantKeyVaultAccessResult;
}

interface RepairResults {
  readBinding: BindingRecord;
  chainBefore: ChainBefore;
  inspectCluster: ClusterFacts;
  listSecretReaders: ListSecretReadersResult;
  getDomainFacts: DomainFacts;
  attachIdentity: AttachResult;
  grantKeyVaultAccess: GrantResult;
  ensureCredentialSpec: CredentialSpecResult;
  verifyChain: VerifyChainResult;
}

export interface RepairOutputs {
  /** The cluster's name (the drift metrics' label). */
  cluster: string;
  found: string[];
  fixed: string[];
  chainBefore: ChainBefore;
  chainAfter: ChainCheck[];
}

interface RepairContext {
  scaleSets: ScaleSetRequests;
}

const step = stepsFor<RepairInput, RepairResults, RepairContext>();
const lower = (s: string) => s.toLowerCase();
const azureRg = (r: ProvisionInput) => r.azure.resourceGroup ?? r.cluster.resourceGroup;

/** The outputs of a completed provisioning; anything else has nothing to converge to. */
function completed(i: RepairInput, b: BindingRecord): ProvisionOutputs {
  const o = outputsOf(b);
  if (b.status !== 'COMPLETED' || !o) {
    throw refuse(
      `provisioning ${i.bindingId} is ${b.status}, not completed: a repair converges a completed binding; run the provisioning again (POST /v1/provisionings) instead`,
    );
  }
  return o;
}

/** An activity called from a workflow step, with its step's name as activityId (as the runner names its own). */
const activity = <N extends keyof GmsaActivities>(name: N, policy = quick) =>
  proxyActivities<GmsaActivities>({ ...activityOptions(policy), activityId: name })[name];

/** The message of an activity's final failure (its cause's, which names the broken link). */
const reason = (e: unknown) =>
  e instanceof ActivityFailure && e.cause ? e.cause.message : e instanceof Error ? e.message : String(e);

/** A few attempts only: a broken chain is what a repair expects to find, not a reason to wait. */
const chainBeforePolicy = { ...verification, maxAttempts: 3 };

async function chainBefore(b: BindingRecord): Promise<ChainBefore> {
  try {
    const { checks } = await proxyActivities<GmsaActivities>({
      ...activityOptions(chainBeforePolicy),
      activityId: 'chainBefore',
      summary: 'chain check before the repair',
    }).verifyChain(chainInput(b));
    return { ok: true, checks };
  } catch (e) {
    if (!(e instanceof ActivityFailure)) throw e;
    return { ok: false, error: reason(e) };
  }
}

/**
 * What the binding's identity lacks on the cluster's Windows pools now, and the coordinator's writes that put it
 * back. A named pool that is gone, or one without a scale set yet, is found but cannot be fixed here.
 */
async function attachIdentity(
  b: BindingRecord,
  facts: ClusterFacts,
  ctx: RepairContext & StepContext,
  bindingId: string,
): Promise<AttachResult> {
  const r = requestOf(b);
  const windows = facts.pools.filter((p) => p.osType === 'Windows');
  const found: string[] = [];
  const fixed: string[] = [];
  const present = new Set(facts.pools.map((p) => lower(p.name)));
  for (const name of r.cluster.windowsNodePools) {
    if (!present.has(lower(name))) found.push(`Windows pool ${name} named by the binding no longer exists`);
  }
  if (r.options.hostIdentity !== 'managedIdentity') {
    return {
      found,
      fixed,
      windowsPools: windows.map((p) => p.name),
      attached: [],
      skipped: 'hostIdentity is kubeletIdentity: AKS keeps it on every scale set',
    };
  }
  const identityId = outputsOf(b)!.managedIdentityId;
  if (!identityId) throw refuse(`provisioning ${bindingId} recorded no managed identity id`);
  const missing = windows.filter((p) => !p.identities.some((id) => lower(id) === lower(identityId)));
  const targets: ScaleSetTarget[] = [];
  for (const p of missing) {
    if (!p.scaleSet) {
      found.push(`Windows pool ${p.name} has no scale set yet: the identity goes on at the next repair`);
      continue;
    }
    const named = r.cluster.windowsNodePools.some((n) => lower(n) === lower(p.name));
    found.push(
      `identity ${identityId.split('/').pop()} missing on Windows pool ${p.name} (scale set ${p.scaleSet}${named ? '' : ', a pool added since the provisioning'})`,
    );
    targets.push({
      subscriptionId: r.cluster.subscriptionId,
      nodeResourceGroup: facts.nodeResourceGroup,
      pool: p.name,
    });
  }
  const attached: string[] = [];
  if (targets.length) {
    const pools = targets.map((t) => t.pool).join(', ');
    ctx.waiting(undefined, `queueing the identity at the scale-set coordinator of pool ${pools}`);
    const outcomes = await ctx.scaleSets.change(targets, 'attach', identityId, bindingOwner(bindingId), () =>
      ctx.waiting(undefined, `queued at the scale-set coordinator of pool ${pools}: waiting for its PATCH`),
    );
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length) {
      throw ApplicationFailure.nonRetryable(
        failed.map((o) => o.error?.message ?? 'refused').join('; '),
        failed[0]!.error?.type ?? ErrorType.PreconditionFailed,
      );
    }
    outcomes.forEach((o, i) => {
      const t = targets[i]!;
      const where = o.scaleSet ?? t.pool;
      // Not changed: someone (another binding's change in the same batch) attached it meanwhile.
      if (o.changed) attached.push(where);
      fixed.push(
        `identity ${identityId.split('/').pop()} ${o.changed ? 'attached to' : 'found back on'} ${where} (pool ${t.pool})`,
      );
    });
  }
  return { found, fixed, windowsPools: windows.map((p) => p.name), attached };
}

/** The Key Vault read of the host principal, granted again; found and fixed when the reader list lacked it. */
async function grant(
  i: RepairInput,
  b: BindingRecord,
  facts: ClusterFacts,
  readers: ListSecretReadersResult,
): Promise<GrantResult> {
  const r = requestOf(b);
  const o = outputsOf(b)!;
  const principal = lower(o.hostPrincipalId);
  const reads = readers.readers.some((x) => x.readsValue && x.principalId === principal);
  const result = await activity(
    'grantKeyVaultAccess',
    azureLongRunning,
  )({
    cluster: r.cluster,
    nodeResourceGroup: facts.nodeResourceGroup,
    vault: {
      id: o.keyVaultId,
      subscriptionId: r.cluster.subscriptionId,
      resourceGroup: azureRg(r),
      name: r.azure.keyVault.name,
    },
    hostIdentity: r.options.hostIdentity,
    ...(r.options.hostIdentity === 'managedIdentity' && o.managedIdentityId
      ? { managedIdentity: { id: o.managedIdentityId, principalId: o.hostPrincipalId } }
      : {}),
    kubeletIdentity: facts.kubeletIdentity,
    // The vault's own model (an adopted vault keeps the one it has).
    accessMode: readers.accessModel === 'rbac' ? 'rbac' : 'accessPolicy',
    secretName: r.azure.keyVault.secretName,
    owner: bindingOwner(i.bindingId),
    // The identity goes on through the coordinators (attachIdentity), never by this activity's own PATCH.
    attachToScaleSets: false,
  });
  const what = readers.accessModel === 'rbac' ? 'a role assignment on the secret' : 'an access policy on the vault';
  return reads
    ? { found: [], fixed: [], grant: result }
    : {
        found: [`host principal ${o.hostPrincipalId} may not read the secret`],
        fixed: [`granted ${o.hostPrincipalId} read on the secret (${what})`],
        grant: result,
      };
}

const summaryOf = (c: Converged, none: string) =>
  c.found.length === 0
    ? none
    : `found: ${c.found.join('; ')}${c.fixed.length ? ` — fixed: ${c.fixed.join('; ')}` : ''}`;

const repairGraph = graph<RepairInput, RepairResults, RepairContext>([
  step.activity('readBinding', {
    needs: [],
    policy: readBindingPolicy,
    describe: (i) => `read binding ${i.bindingId}`,
    input: (i) => ({ bindingId: i.bindingId, requireSettled: true }),
    summary: (b) => `${b.status} provisioning of ${b.request.gmsa.name} on ${b.request.cluster.name}`,
  }),

  step.workflow('chainBefore', {
    needs: ['readBinding'],
    run: (i, { readBinding: b }) => {
      completed(i, b);
      return chainBefore(b);
    },
    summary: (c) => (c.ok ? 'chain intact before the repair' : `found: ${c.error}`),
  }),

  // Read-only, next to the first chain check.
  step.activity('inspectCluster', {
    needs: ['readBinding'],
    policy: quick,
    describe: (i) => `inspect the node pools of binding ${i.bindingId}'s cluster`,
    input: (i, { readBinding: b }) => {
      completed(i, b);
      return { cluster: requestOf(b).cluster };
    },
    summary: (f) =>
      `${f.pools.length} pool(s): ${f.pools.map((p) => `${p.name} (${p.osType}${p.scaleSet ? '' : ', no scale set'})`).join(', ')}`,
  }),

  step.activity('listSecretReaders', {
    needs: ['readBinding'],
    policy: quick,
    describe: () => 'list who may read the secret',
    input: (i, { readBinding: b }) => {
      completed(i, b);
      const r = requestOf(b);
      return {
        vault: { subscriptionId: r.cluster.subscriptionId, resourceGroup: azureRg(r), name: r.azure.keyVault.name },
        secretName: r.azure.keyVault.secretName,
      };
    },
    summary: (s) =>
      `${s.readers.filter((x) => x.readsValue).length} principal(s) may read the secret (${s.accessModel})`,
  }),

  step.activity('getDomainFacts', {
    needs: ['readBinding'],
    policy: quick,
    describe: (i) => `read the domain of binding ${i.bindingId}`,
    input: (_i, { readBinding: b }) => ({ domainFqdn: requestOf(b).domain.fqdn }),
    summary: (f) => `${f.netbiosName} (${f.dnsName}), SID ${f.domainSid}`,
  }),

  // Writes only after the first chain check, so it shows the chain as it was found.
  step.workflow('attachIdentity', {
    needs: ['readBinding', 'chainBefore', 'inspectCluster'],
    run: (i, { readBinding: b, inspectCluster: f }, ctx) => attachIdentity(b, f, ctx, i.bindingId),
    summary: (a) =>
      a.skipped ?? summaryOf(a, `identity on every Windows pool (${a.windowsPools.join(', ') || 'none'})`),
  }),

  step.workflow('grantKeyVaultAccess', {
    needs: ['readBinding', 'chainBefore', 'inspectCluster', 'listSecretReaders'],
    run: (i, { readBinding: b, inspectCluster: f, listSecretReaders: s }) => grant(i, b, f, s),
    summary: (g) => summaryOf(g, `${g.grant.principalId} may read the secret`),
  }),

  step.activity('ensureCredentialSpec', {
    needs: ['readBinding', 'chainBefore', 'getDomainFacts'],
    policy: quick,
    describe: (i) => `credential spec and RBAC of binding ${i.bindingId}`,
    input: (i, { readBinding: b, getDomainFacts: domain }) => {
      const r = requestOf(b);
      const o = outputsOf(b)!;
      return {
        cluster: r.cluster,
        specName: r.gmsa.credentialSpecName,
        gmsaName: r.gmsa.name,
        domain,
        hostAccount: { principalId: o.hostPrincipalId, secretUri: o.secretUri },
        rbac: r.options.rbac,
        owner: bindingOwner(i.bindingId),
      };
    },
    summary: (sp) =>
      sp.changed
        ? `found: spec ${sp.name} or its RBAC differed from the binding — fixed: rewrote them`
        : `spec ${sp.name} and its RBAC as the binding says`,
  }),

  step.activity('verifyChain', {
    needs: ['readBinding', 'attachIdentity', 'grantKeyVaultAccess', 'ensureCredentialSpec'],
    policy: verification,
    describe: () => 'verify secret → AD → gMSA password → RBAC after the repair',
    input: (_i, { readBinding: b }) => chainInput(b),
    summary: (v) => v.checks.map((c) => `${c.ok ? '✔' : '✖'} ${c.link}`).join(', '),
  }),
]);

/** Found and fixed, in step order. */
function outputs(r: RepairResults): RepairOutputs {
  const spec = r.ensureCredentialSpec;
  const specFound = spec.changed ? [`spec ${spec.name} or its RBAC differed from the binding`] : [];
  const specFixed = spec.changed ? [`rewrote spec ${spec.name} and its RBAC`] : [];
  const before = r.chainBefore.ok ? [] : [`chain check failed before the repair: ${r.chainBefore.error}`];
  return {
    cluster: requestOf(r.readBinding).cluster.name.toLowerCase(),
    found: [...before, ...r.attachIdentity.found, ...r.grantKeyVaultAccess.found, ...specFound],
    fixed: [...r.attachIdentity.fixed, ...r.grantKeyVaultAccess.fixed, ...specFixed],
    chainBefore: r.chainBefore,
    chainAfter: r.verifyChain.checks,
  };
}

/**
 * Drift as metrics, through the SDK's meter (the worker exports it with the SDK's own, GMSA_WORKER_METRICS_ADDRESS;
 * the SDK drops what a replay would count twice): something to alert on when drift keeps coming back. Labelled by
 * cluster, not binding, to keep the series few.
 */
const driftFound = metricMeter.createCounter('gmsa_repair_drift_found', 'findings', 'drift a repair found');
const driftFixed = metricMeter.createCounter('gmsa_repair_drift_fixed', 'fixes', 'drift a repair put back');

export async function repairGmsa(input: RepairInput): Promise<RepairOutputs> {
  const o = await runOperation({
    names: REPAIR_STEPS,
    graph: repairGraph,
    input,
    context: { scaleSets: new ScaleSetRequests() },
    outputs,
  });
  driftFound.add(o.found.length, { cluster: o.cluster });
  driftFixed.add(o.fixed.length, { cluster: o.cluster });
  return o;
}
