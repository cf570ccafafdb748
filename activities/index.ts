/**
 * Assembles the activity set from the parts the worker could configure. A step whose outside system is not
 * configured fails at once, non-retryably, naming what is missing: never a stub that reports success. Every
 * activity heartbeats while it runs (keep-alive.ts), so a cancellation reaches it and a dead worker is noticed.
 */
import { notConfigured } from '../contract/errors.js';
import type { GmsaActivities } from '../contract/activities.js';
import { keepAlive } from './keep-alive.js';

const AD = 'Active Directory (AD_URL, AD_BIND_USER, AD_BIND_PASSWORD or AD_BIND_PASSWORD_FILE, AD_CA_FILE)';
const AZURE = 'Azure (AZURE_SUBSCRIPTION_ID and an Azure credential)';
const KUBERNETES = 'Kubernetes (KUBECONFIG, or Azure to fetch the cluster credential)';
const TEMPORAL = 'the worker (always there)';

/** The outside system each activity needs, for the "not configured" message. */
export const ACTIVITY_NEEDS: Record<keyof GmsaActivities, string> = {
  confirmAksGmsa: AZURE,
  ensureManagedIdentity: AZURE,
  ensureKeyVault: AZURE,
  storeUserSecret: AZURE,
  grantKeyVaultAccess: AZURE,
  getDomainFacts: AD,
  findDomainUser: AD,
  ensureKdsRootKey: AD,
  ensureDomainUser: `${AD} and a Key Vault secret reader (${AZURE})`,
  ensureGmsa: AD,
  ensureCredentialSpec: KUBERNETES,
  verifyChain: `the chain check: ${AZURE}, ${AD} and ${KUBERNETES}`,
  removeCredentialSpec: KUBERNETES,
  removeGmsa: AD,
  removeDomainUser: AD,
  removeScaleSetIdentity: AZURE,
  deleteKeyVault: AZURE,
  deleteManagedIdentity: AZURE,
  deleteUserSecret: AZURE,
  revokeKeyVaultAccess: AZURE,
  verifyApproval: 'the approval key (GMSA_APPROVAL_KEY or GMSA_APPROVAL_KEY_FILE)',
  queueScaleSetChange: TEMPORAL,
  applyScaleSetChanges: AZURE,
  readBinding: TEMPORAL,
  listCredentialSpecs: KUBERNETES,
  disableClusterGmsa: AZURE,
  ensureOperationSchedules: TEMPORAL,
  deleteOperationSchedules: TEMPORAL,
  listUserSecrets: TEMPORAL,
  stageUserPassword: AZURE,
  setDomainUserPassword: `${AD} and a Key Vault secret reader (${AZURE})`,
  publishUserPassword: AZURE,
  dropStagedPassword: AZURE,
  inspectCluster: AZURE,
  listSecretReaders: AZURE,
  runValidationPod: KUBERNETES,
};

export function createActivities(parts: Partial<GmsaActivities>): GmsaActivities {
  const all = {} as Record<keyof GmsaActivities, unknown>;
  for (const name of Object.keys(ACTIVITY_NEEDS) as (keyof GmsaActivities)[]) {
    const impl =
      parts[name] ??
      (async () => {
        throw notConfigured(ACTIVITY_NEEDS[name]);
      });
    all[name] = keepAlive(impl as (input: unknown) => Promise<unknown>);
  }
  return all as GmsaActivities;
}
