/**
 * provisionGmsa as it was before the patch `step-graph-server-retries` (workflows/provision.ts): the retry loop in
 * workflow code, one activity per attempt. Kept verbatim, with its policy table frozen beside it
 * (step-policies-v1.ts), so runs started before the patch replay and finish exactly as they began.
 *
 * Remove this folder once no run started before the patch is open (`temporal workflow list --query
 * "ExecutionStatus='Running' AND WorkflowType='provisionGmsa' AND StartTime < '<deploy time of the patch>'"` is
 * empty, and completed ones past retention no longer need queries): then replace `patched()` with
 * `deprecatePatch()` in provision.ts, and, one deploy later, drop that call too.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  TimeoutFailure,
} from '@temporalio/workflow';
import { ErrorType, type RetryHint } from '../../contract/errors.js';
import type { GmsaActivities, KdsRootKeyResult, RemovalActivities } from '../../contract/activities.js';
import { scrub } from '../../domain/scrub.js';
import {
  STEP_NAMES_V2,
  approveAdStepSignal,
  progressQuery,
  type ProvisionInput,
  type ProvisionOutputs,
  type StepError,
} from '../definitions.js';
import { ProgressTracker } from '../progress.js';
import { KDS_MAX_WAIT_MS, retryDelayMs, STEP_POLICIES, type ActivityName } from './step-policies-v1.js';

/** Patch id: rollback passes the node resource group to deleteManagedIdentity (histories before it did not). */
const DETACH_BEFORE_IDENTITY_DELETE = 'rollback-detach-identity-before-delete';

/** Error types the workflow never retries, whatever flag the failure carries. */
const NON_RETRYABLE_TYPES = new Set<string>(Object.values(ErrorType).filter((t) => t !== ErrorType.Transient));

type Input<N extends ActivityName> = Parameters<GmsaActivities[N]>[0];
type Output<N extends ActivityName> = Awaited<ReturnType<GmsaActivities[N]>>;

export async function provisionGmsaV1(request: ProvisionInput): Promise<ProvisionOutputs> {
  const progress = new ProgressTracker(STEP_NAMES_V2);
  /** Results of the steps that finished, for the rollback to know what this run created. */
  const done: Partial<{ [N in ActivityName]: Output<N> }> = {};
  const report = () => setCurrentDetails(progress.details());
  setHandler(progressQuery, () => progress.snapshot());
  setHandler(approveAdStepSignal, ({ by, comment }) => {
    progress.approval ??= { by, comment, at: new Date().toISOString() };
    report();
  });

  /** One step: attempts with backoff until success, a non-retryable failure, or the attempt limit. */
  async function run<N extends ActivityName>(name: N, input: Input<N>, describe: string): Promise<Output<N>> {
    const policy = STEP_POLICIES[name];
    for (let attempt = 1; ; attempt++) {
      progress.attemptStarted(name, attempt, describe);
      report();
      const activity = proxyActivities<GmsaActivities>({
        activityId: `${name}-${attempt}`,
        summary: `${describe} (attempt ${attempt})`,
        startToCloseTimeout: policy.startToClose,
        heartbeatTimeout: policy.heartbeat,
        retry: { maximumAttempts: 1 },
      })[name] as (i: Input<N>) => Promise<Output<N>>;
      try {
        const result = await activity(input);
        (done as Record<string, unknown>)[name] = result;
        progress.succeeded(name, summarize(name, result));
        report();
        return result;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const failure = describeFailure(err);
        if (!failure.retryable || attempt >= policy.maxAttempts) {
          const final = { ...failure, retryable: false };
          progress.failed(name, final);
          report();
          const why = failure.retryable ? `gave up after ${attempt} attempts: ${failure.message}` : failure.message;
          throw ApplicationFailure.nonRetryable(`${name} failed: ${why}`, 'StepFailed');
        }
        const delayMs = failure.retryAfterMs ?? retryDelayMs(policy, attempt);
        progress.retrying(name, failure, new Date(Date.now() + delayMs).toISOString());
        report();
        await sleep(delayMs, { summary: `retry ${name} after: ${failure.message}`.slice(0, 200) });
      }
    }
  }

  /** The KDS wait: the approval signal, or a timer to the moment the root key is usable (10 hours at most). */
  async function awaitAdApproval(key: KdsRootKeyResult): Promise<void> {
    const waitMs = Math.min(Math.max(0, Date.parse(key.usableAt) - Date.now()), KDS_MAX_WAIT_MS);
    const approved = () => progress.approval !== undefined;
    if (request.options.requireAdApproval) {
      progress.waiting('awaitAdApproval', undefined, 'waiting for an AD operator to approve (POST …/approve)');
      report();
      await condition(approved);
    } else if (waitMs > 0 && !approved()) {
      const until = new Date(Date.now() + waitMs).toISOString();
      progress.waiting(
        'awaitAdApproval',
        until,
        `KDS root key usable at ${key.usableAt}; waiting, or approve to go on`,
      );
      report();
      await condition(approved, waitMs, { summary: `KDS root key becomes usable at ${key.usableAt}` });
    }
    const a = progress.approval;
    progress.succeeded(
      'awaitAdApproval',
      a
        ? `approved by ${a.by}`
        : waitMs > 0
          ? `KDS root key usable since ${key.usableAt}`
          : 'KDS root key already usable',
    );
    report();
  }

  const r = request;
  const azureRg = r.azure.resourceGroup ?? r.cluster.resourceGroup;
  const useManagedIdentity = r.options.hostIdentity === 'managedIdentity';
  const steps: Promise<unknown>[] = [];
  const track = <T>(p: Promise<T>): Promise<T> => {
    steps.push(p);
    return p;
  };
  const graph = new CancellationScope();

  try {
    const outputs = await graph.run(async () => {
      const confirm = track(
        run(
          'confirmAksGmsa',
          {
            cluster: r.cluster,
            domainFqdn: r.domain.fqdn,
            dnsServer: r.domain.dnsServer,
            enable: r.options.enableGmsaOnCluster,
          },
          `check gMSA on cluster ${r.cluster.name}`,
        ),
      );
      const identity = useManagedIdentity
        ? track(
            run(
              'ensureManagedIdentity',
              {
                subscriptionId: r.cluster.subscriptionId,
                resourceGroup: azureRg,
                name: r.azure.managedIdentity.name,
                location: r.azure.location,
              },
              `managed identity ${r.azure.managedIdentity.name}`,
            ),
          )
        : undefined;
      if (!identity) progress.skipped('ensureManagedIdentity', 'hostIdentity is kubeletIdentity');
      const vault = track(
        run(
          'ensureKeyVault',
          {
            subscriptionId: r.cluster.subscriptionId,
            resourceGroup: azureRg,
            name: r.azure.keyVault.name,
            location: r.azure.location,
            accessMode: r.options.keyVaultAccess,
          },
          `key vault ${r.azure.keyVault.name}`,
        ),
      );
      const secret = track(
        vault.then((v) =>
          run(
            'storeUserSecret',
            {
              vaultUri: v.vaultUri,
              secretName: r.azure.keyVault.secretName,
              domainFqdn: r.domain.fqdn,
              user: r.gmsa.standardUser,
            },
            `secret ${r.azure.keyVault.secretName} for ${r.gmsa.standardUser}`,
          ),
        ),
      );
      const facts = track(run('getDomainFacts', { domainFqdn: r.domain.fqdn }, `read domain ${r.domain.fqdn}`));
      const kds = track(run('ensureKdsRootKey', r.kdsRootKey, 'find or create a KDS root key'));
      const approved = track(kds.then(awaitAdApproval));
      const user = track(
        Promise.all([vault, secret, approved]).then(([v]) =>
          run(
            'ensureDomainUser',
            {
              domainFqdn: r.domain.fqdn,
              user: r.gmsa.standardUser,
              secret: { vaultUri: v.vaultUri, secretName: r.azure.keyVault.secretName },
            },
            `domain user ${r.gmsa.standardUser}`,
          ),
        ),
      );
      const gmsa = track(
        user.then((u) =>
          run(
            'ensureGmsa',
            { domainFqdn: r.domain.fqdn, name: r.gmsa.name, allowedPrincipalSids: [u.sid] },
            `gMSA ${r.gmsa.name}`,
          ),
        ),
      );
      const access = track(
        Promise.all([confirm, identity, vault]).then(([c, mi, v]) =>
          run(
            'grantKeyVaultAccess',
            {
              cluster: r.cluster,
              nodeResourceGroup: c.nodeResourceGroup,
              vault: {
                id: v.id,
                subscriptionId: r.cluster.subscriptionId,
                resourceGroup: azureRg,
                name: r.azure.keyVault.name,
              },
              hostIdentity: r.options.hostIdentity,
              managedIdentity: mi && { id: mi.id, principalId: mi.principalId },
              kubeletIdentity: c.kubeletIdentity,
              accessMode: r.options.keyVaultAccess,
            },
            `let ${r.options.hostIdentity === 'managedIdentity' ? 'Windows hosts' : 'the kubelet identity'} read the secret`,
          ),
        ),
      );
      const spec = track(
        Promise.all([facts, gmsa, identity, secret, confirm]).then(([f, , mi, s, c]) => {
          const principalId = mi?.principalId ?? c.kubeletIdentity?.objectId;
          if (!principalId) {
            throw ApplicationFailure.nonRetryable(
              'ensureCredentialSpec failed: the cluster reports no kubelet identity; use hostIdentity managedIdentity',
              'StepFailed',
            );
          }
          return run(
            'ensureCredentialSpec',
            {
              cluster: r.cluster,
              specName: r.gmsa.credentialSpecName,
              gmsaName: r.gmsa.name,
              domain: f,
              hostAccount: { principalId, secretUri: s.secretUri },
              rbac: r.options.rbac,
            },
            `credential spec ${r.gmsa.credentialSpecName}`,
          );
        }),
      );
      const verified = track(
        Promise.all([spec, access, secret]).then(([, , s]) =>
          run(
            'verifyChain',
            {
              cluster: r.cluster,
              domainFqdn: r.domain.fqdn,
              gmsaName: r.gmsa.name,
              specName: r.gmsa.credentialSpecName,
              secretUri: s.secretUri,
              rbac: r.options.rbac,
            },
            'verify secret → AD → gMSA password → RBAC',
          ),
        ),
      );

      const [c, mi, v, s, k, u, g, a, sp] = await Promise.all([
        confirm,
        identity,
        vault,
        secret,
        kds,
        user,
        gmsa,
        access,
        spec,
        verified,
      ]);
      return {
        clusterId: c.clusterId,
        managedIdentityId: mi?.id,
        keyVaultId: v.id,
        secretUri: s.secretUri,
        domainUserDn: u.dn,
        gmsaDn: g.dn,
        credentialSpecName: sp.name,
        hostPrincipalId: a.principalId,
        kdsRootKeyId: k.keyId,
      } satisfies ProvisionOutputs;
    });
    progress.outputs = outputs;
    progress.finish('completed');
    report();
    return outputs;
  } catch (err) {
    // Stop the branches still running, and let them settle so progress tells the whole story.
    graph.cancel();
    await CancellationScope.nonCancellable(() => Promise.allSettled(steps));
    const cancelled = isCancellation(err);
    progress.finish(cancelled ? 'cancelled' : 'failed', cancelled ? undefined : messageOf(err));
    report();
    if (request.options.rollbackOnFailure)
      await CancellationScope.nonCancellable(() => rollback(request, done, progress, report));
    throw err;
  }
}

/**
 * Removes what this run created, newest first, each removal retried by the server. What existed before the run
 * (a vault, a user, an identity) stays, and so do the KDS root key and gMSA on the cluster, which others may use.
 */
async function rollback(
  r: ProvisionInput,
  done: Partial<{ [N in ActivityName]: Output<N> }>,
  progress: ProgressTracker,
  report: () => void,
): Promise<void> {
  const removal = proxyActivities<RemovalActivities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 5, initialInterval: '2 seconds', nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
    summary: 'rollback',
  });
  const azureRg = r.azure.resourceGroup ?? r.cluster.resourceGroup;
  const undo: [string, () => Promise<unknown>][] = [];
  if (done.ensureCredentialSpec?.changed) {
    const specName = r.gmsa.credentialSpecName;
    undo.push([
      `credential spec ${specName}`,
      () => removal.removeCredentialSpec({ cluster: r.cluster, specName, rbac: r.options.rbac }),
    ]);
  }
  if (done.ensureGmsa?.created)
    undo.push([`gMSA ${r.gmsa.name}`, () => removal.removeGmsa({ domainFqdn: r.domain.fqdn, name: r.gmsa.name })]);
  if (done.ensureDomainUser?.created) {
    undo.push([
      `user ${r.gmsa.standardUser}`,
      () => removal.removeDomainUser({ domainFqdn: r.domain.fqdn, user: r.gmsa.standardUser }),
    ]);
  }
  const mi = done.ensureManagedIdentity;
  const cluster = done.confirmAksGmsa;
  if (done.grantKeyVaultAccess?.scaleSetsUpdated.length && mi && cluster) {
    undo.push([
      `identity on ${done.grantKeyVaultAccess.scaleSetsUpdated.join(', ')}`,
      () =>
        removal.removeScaleSetIdentity({
          cluster: r.cluster,
          nodeResourceGroup: cluster.nodeResourceGroup,
          identityId: mi.id,
        }),
    ]);
  }
  if (done.ensureKeyVault?.created) {
    const vault = { subscriptionId: r.cluster.subscriptionId, resourceGroup: azureRg, name: r.azure.keyVault.name };
    // Purged, or the soft-deleted vault would hold the name and a rerun could not create it.
    undo.push([
      `key vault ${vault.name}`,
      () => removal.deleteKeyVault({ ...vault, location: r.azure.location, purge: true }),
    ]);
  }
  if (mi?.created) {
    const ref = {
      subscriptionId: r.cluster.subscriptionId,
      resourceGroup: azureRg,
      name: r.azure.managedIdentity.name,
    };
    const nodeResourceGroup = cluster?.nodeResourceGroup;
    undo.push([
      `managed identity ${ref.name}`,
      () =>
        removal.deleteManagedIdentity(
          // Detached from the cluster's scale sets first, even when the grant failed after attaching it (and so
          // left no removeScaleSetIdentity above): Azure would delete it and leave the scale sets naming it.
          nodeResourceGroup && patched(DETACH_BEFORE_IDENTITY_DELETE)
            ? { ...ref, detachFrom: { subscriptionId: r.cluster.subscriptionId, nodeResourceGroup } }
            : ref,
        ),
    ]);
  }
  const state = { status: 'running' as 'running' | 'done' | 'failed', removed: [] as string[], failed: [] as string[] };
  progress.rollback = state;
  report();
  for (const [what, remove] of undo) {
    try {
      await remove();
      state.removed.push(what);
    } catch (err) {
      const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
      state.failed.push(`${what}: ${scrub(messageOf(cause))}`);
    }
    report();
  }
  state.status = state.failed.length ? 'failed' : 'done';
  report();
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a failed attempt means: its message, type, whether a retry can help, and a server's Retry-After. */
function describeFailure(err: unknown): StepError & { retryAfterMs?: number } {
  const at = new Date().toISOString();
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const retryable = !cause.nonRetryable && !NON_RETRYABLE_TYPES.has(cause.type ?? '');
    const hint = cause.details?.[0] as RetryHint | undefined;
    const retryAfterMs = typeof hint?.retryAfterMs === 'number' ? hint.retryAfterMs : undefined;
    return { message: scrub(cause.message), type: cause.type ?? undefined, retryable, at, retryAfterMs };
  }
  if (cause instanceof TimeoutFailure) {
    return { message: `timed out (${cause.timeoutType})`, type: 'Timeout', retryable: true, at };
  }
  return { message: scrub(messageOf(cause)), retryable: true, at };
}

/** One line per finished step for progress and the UI; names and ids only, never a secret. */
function summarize(name: ActivityName, result: unknown): string | undefined {
  const r = result as Record<string, unknown>;
  const verb = (created: unknown) => (created ? 'created' : 'found');
  switch (name) {
    case 'confirmAksGmsa':
      return r.enabledByThisRun ? 'enabled gMSA on the cluster' : 'gMSA already enabled';
    case 'ensureManagedIdentity':
      return `${verb(r.created)} identity, principal ${String(r.principalId)}`;
    case 'ensureKeyVault':
      return `${verb(r.created)} vault ${String(r.vaultUri)}`;
    case 'storeUserSecret':
      return `${r.created ? 'stored a new' : 'kept the'} secret ${String(r.secretUri)}`;
    case 'getDomainFacts':
      return `${String(r.netbiosName)} (${String(r.dnsName)}), SID ${String(r.domainSid)}`;
    case 'ensureKdsRootKey':
      return `${verb(r.created)} root key ${String(r.keyId)}, usable at ${String(r.usableAt)}`;
    case 'ensureDomainUser':
      return `${verb(r.created)} ${String(r.dn)}${r.passwordReset ? ' (password reset to the vault secret)' : ''}`;
    case 'ensureGmsa':
      return `${verb(r.created)} ${String(r.dn)}${r.membershipChanged ? ' (user added to its readers)' : ''}`;
    case 'grantKeyVaultAccess':
      return `${String(r.principalId)} may read secrets by ${String(r.access)}`;
    case 'ensureCredentialSpec':
      return `${r.changed ? 'wrote' : 'unchanged'} spec ${String(r.name)}`;
    case 'verifyChain': {
      const checks = (r.checks as { link: string; ok: boolean }[] | undefined) ?? [];
      return checks.map((c) => `${c.ok ? '✔' : '✖'} ${c.link}`).join(', ');
    }
  }
}
