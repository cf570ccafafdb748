/**
 * Frozen: the v2 provisioning graph (provision-v2.ts), for runs started before ownership. Its rollback undoes what
 * each step reported it created; the runner calls `undo` only for steps that finished in this mode, so the results
 * below are always there (the `?.` only satisfies the shared signature).
 */
import { condition } from '@temporalio/workflow';
import type {
  ActivityName,
  GmsaActivities,
  KdsRootKeyResult,
  ManagedIdentityResult,
} from '../../contract/activities.js';
import type { Approval, ProvisionInput, ProvisionOutputs } from '../definitions.js';
import { graph, refuse, stepsFor, type StepContext } from '../runner.js';
import { azureLongRunning, KDS_MAX_WAIT_MS, keyVault, quick, verification } from '../step-policies.js';

type Output<N extends ActivityName> = Awaited<ReturnType<GmsaActivities[N]>>;

/** How the KDS wait ended. */
export interface KdsWait {
  approvedBy?: string;
  usableAt: string;
  /** False when the key was usable already and no approval was required. */
  waited: boolean;
}

/** What each step of the provisioning returns. */
export type ProvisionResults = Omit<{ [N in ActivityName]: Output<N> }, 'ensureManagedIdentity'> & {
  /** Undefined when the step is skipped (hostIdentity kubeletIdentity). */
  ensureManagedIdentity: ManagedIdentityResult | undefined;
  awaitAdApproval: KdsWait;
};

/** What the signal handler keeps for the KDS wait. */
export interface ProvisionContext {
  approval(): Approval | undefined;
}

const step = stepsFor<ProvisionInput, ProvisionResults, ProvisionContext>();
const azureRg = (r: ProvisionInput) => r.azure.resourceGroup ?? r.cluster.resourceGroup;
const verb = (created: boolean) => (created ? 'created' : 'found');

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
    }),
    summary: (mi) => `${verb(mi.created)} identity, principal ${mi.principalId}`,
    undo: (r, mi, done) => {
      if (!mi?.created) return undefined;
      const ref = {
        subscriptionId: r.cluster.subscriptionId,
        resourceGroup: azureRg(r),
        name: r.azure.managedIdentity.name,
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
    }),
    summary: (v) => `${verb(v.created)} vault ${v.vaultUri}`,
    undo: (r, v) =>
      v?.created
        ? {
            what: `key vault ${r.azure.keyVault.name}`,
            // Purged, or the soft-deleted vault would hold the name and a rerun could not create it.
            run: (remove) =>
              remove.deleteKeyVault({
                subscriptionId: r.cluster.subscriptionId,
                resourceGroup: azureRg(r),
                name: r.azure.keyVault.name,
                location: r.azure.location,
                purge: true,
              }),
          }
        : undefined,
  }),

  step.activity('storeUserSecret', {
    needs: ['ensureKeyVault'],
    policy: quick,
    describe: (r) => `secret ${r.azure.keyVault.secretName} for ${r.gmsa.standardUser}`,
    input: (r, { ensureKeyVault: v }) => ({
      vaultUri: v.vaultUri,
      secretName: r.azure.keyVault.secretName,
      domainFqdn: r.domain.fqdn,
      user: r.gmsa.standardUser,
    }),
    summary: (s) => `${s.created ? 'stored a new' : 'kept the'} secret ${s.secretUri}`,
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
    summary: (k) => `${verb(k.created)} root key ${k.keyId}, usable at ${k.usableAt}`,
  }),

  step.workflow('awaitAdApproval', {
    needs: ['ensureKdsRootKey'],
    run: (r, { ensureKdsRootKey }, ctx) => awaitAdApproval(r, ensureKdsRootKey, ctx),
    summary: (w) =>
      w.approvedBy
        ? `approved by ${w.approvedBy}`
        : w.waited
          ? `KDS root key usable since ${w.usableAt}`
          : 'KDS root key already usable',
  }),

  step.activity('ensureDomainUser', {
    needs: ['storeUserSecret', 'awaitAdApproval', 'ensureKeyVault'],
    policy: quick,
    describe: (r) => `domain user ${r.gmsa.standardUser}`,
    input: (r, { ensureKeyVault: v }) => ({
      domainFqdn: r.domain.fqdn,
      user: r.gmsa.standardUser,
      secret: { vaultUri: v.vaultUri, secretName: r.azure.keyVault.secretName },
    }),
    summary: (u) => `${verb(u.created)} ${u.dn}${u.passwordReset ? ' (password reset to the vault secret)' : ''}`,
    undo: (r, u) =>
      u?.created
        ? {
            what: `user ${r.gmsa.standardUser}`,
            run: (remove) => remove.removeDomainUser({ domainFqdn: r.domain.fqdn, user: r.gmsa.standardUser }),
          }
        : undefined,
  }),

  step.activity('ensureGmsa', {
    needs: ['ensureDomainUser'],
    policy: quick,
    describe: (r) => `gMSA ${r.gmsa.name}`,
    input: (r, { ensureDomainUser: u }) => ({
      domainFqdn: r.domain.fqdn,
      name: r.gmsa.name,
      allowedPrincipalSids: [u.sid],
    }),
    summary: (g) => `${verb(g.created)} ${g.dn}${g.membershipChanged ? ' (user added to its readers)' : ''}`,
    undo: (r, g) =>
      g?.created
        ? {
            what: `gMSA ${r.gmsa.name}`,
            run: (remove) => remove.removeGmsa({ domainFqdn: r.domain.fqdn, name: r.gmsa.name }),
          }
        : undefined,
  }),

  step.activity('grantKeyVaultAccess', {
    needs: ['confirmAksGmsa', 'ensureManagedIdentity', 'ensureKeyVault'],
    policy: azureLongRunning,
    describe: (r) =>
      `let ${r.options.hostIdentity === 'managedIdentity' ? 'Windows hosts' : 'the kubelet identity'} read the secret`,
    input: (r, { confirmAksGmsa: c, ensureManagedIdentity: mi, ensureKeyVault: v }) => ({
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
      accessMode: r.options.keyVaultAccess,
    }),
    summary: (a) => `${a.principalId} may read secrets by ${a.access}`,
    undo: (r, a, done) => {
      const mi = done.ensureManagedIdentity;
      const cluster = done.confirmAksGmsa;
      if (!a?.scaleSetsUpdated.length || !mi || !cluster) return undefined;
      return {
        what: `identity on ${a.scaleSetsUpdated.join(', ')}`,
        run: (remove) =>
          remove.removeScaleSetIdentity({
            cluster: r.cluster,
            nodeResourceGroup: cluster.nodeResourceGroup,
            identityId: mi.id,
          }),
      };
    },
  }),

  step.activity('ensureCredentialSpec', {
    needs: ['getDomainFacts', 'ensureGmsa', 'ensureManagedIdentity', 'storeUserSecret', 'confirmAksGmsa'],
    policy: quick,
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
      };
    },
    summary: (sp) => `${sp.changed ? 'wrote' : 'unchanged'} spec ${sp.name}`,
    undo: (r, sp) =>
      sp?.changed
        ? {
            what: `credential spec ${r.gmsa.credentialSpecName}`,
            run: (remove) =>
              remove.removeCredentialSpec({
                cluster: r.cluster,
                specName: r.gmsa.credentialSpecName,
                rbac: r.options.rbac,
              }),
          }
        : undefined,
  }),

  step.activity('verifyChain', {
    needs: ['ensureCredentialSpec', 'grantKeyVaultAccess', 'storeUserSecret'],
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

/** The KDS wait: the approval signal, or a timer to the moment the root key is usable (10 hours at most). */
async function awaitAdApproval(
  request: ProvisionInput,
  key: KdsRootKeyResult,
  ctx: ProvisionContext & StepContext,
): Promise<KdsWait> {
  const waitMs = Math.min(Math.max(0, Date.parse(key.usableAt) - Date.now()), KDS_MAX_WAIT_MS);
  const approved = () => ctx.approval() !== undefined;
  if (request.options.requireAdApproval) {
    ctx.waiting(undefined, 'waiting for an AD operator to approve (POST …/approve)');
    await condition(approved);
  } else if (waitMs > 0 && !approved()) {
    ctx.waiting(
      new Date(Date.now() + waitMs).toISOString(),
      `KDS root key usable at ${key.usableAt}; waiting, or approve to go on`,
    );
    await condition(approved, waitMs, { summary: `KDS root key becomes usable at ${key.usableAt}` });
  }
  return { approvedBy: ctx.approval()?.by, usableAt: key.usableAt, waited: waitMs > 0 };
}
