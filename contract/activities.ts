/**
 * The activity contract: what each provisioning step takes and returns. The workflow imports these types only;
 * implementations live one file per outside system (aks, active-directory, key-vault, managed-identity, kubernetes)
 * and are assembled by createActivities (activities/index.ts).
 *
 * Nothing here carries a secret: passwords move only between Key Vault and AD inside an activity.
 */
import type { DomainFacts } from '../domain/credential-spec.js';
import type { ClusterRef } from '../domain/request.js';

export type { ClusterRef };

/** Azure resource coordinates shared by the vault and identity steps. */
export interface AzureResourceRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

// ---- confirmAksGmsa -------------------------------------------------------------------------------------------

export interface ConfirmAksGmsaInput {
  cluster: ClusterRef;
  /** Passed to AKS as gmsaProfile.rootDomainName (with dnsServer, or neither when dnsServer is absent). */
  domainFqdn: string;
  dnsServer?: string;
  /** Enable gMSA on the cluster when it is off (GET, modify, PUT as `az aks update --enable-windows-gmsa`). */
  enable: boolean;
}

export interface ConfirmAksGmsaResult {
  clusterId: string;
  nodeResourceGroup: string;
  /** True when this run turned gMSA on (so a rollback knows what it changed). */
  enabledByThisRun: boolean;
  /** The kubelet identity, used when options.hostIdentity is kubeletIdentity. */
  kubeletIdentity?: { objectId: string; clientId: string; resourceId: string };
}

// ---- ensureManagedIdentity -------------------------------------------------------------------------------------

export interface EnsureManagedIdentityInput extends AzureResourceRef {
  location: string;
}

export interface ManagedIdentityResult {
  id: string;
  /** The objectId: what the CCG plugin puts in ObjectId= and what Key Vault access is granted to. */
  principalId: string;
  clientId: string;
  created: boolean;
}

// ---- ensureKeyVault / storeUserSecret / grantKeyVaultAccess ----------------------------------------------------

export interface EnsureKeyVaultInput extends AzureResourceRef {
  location: string;
  accessMode: 'accessPolicy' | 'rbac';
}

export interface KeyVaultResult {
  id: string;
  vaultUri: string;
  created: boolean;
}

export interface StoreUserSecretInput {
  vaultUri: string;
  secretName: string;
  /** Written as `<DOMAIN FQDN>\<user>:<password>`, the CCG plugin's format. */
  domainFqdn: string;
  user: string;
}

export interface UserSecretResult {
  /** Versionless secret URI, so the node plugin always reads the latest version. */
  secretUri: string;
  /** False when an existing well-formed secret for the same user was kept. */
  created: boolean;
}

export interface GrantKeyVaultAccessInput {
  cluster: ClusterRef;
  nodeResourceGroup: string;
  vault: { id: string } & AzureResourceRef;
  hostIdentity: 'managedIdentity' | 'kubeletIdentity';
  /** The identity to attach and grant; required when hostIdentity is managedIdentity. */
  managedIdentity?: { id: string; principalId: string };
  kubeletIdentity?: { objectId: string };
  accessMode: 'accessPolicy' | 'rbac';
}

export interface GrantKeyVaultAccessResult {
  /** The principal the node plugin reads the secret as (PluginInput ObjectId). */
  principalId: string;
  /** Scale sets this run attached the identity to (empty on a rerun). */
  scaleSetsUpdated: string[];
  access: 'accessPolicy' | 'roleAssignment';
}

// ---- Active Directory ------------------------------------------------------------------------------------------

// What a credential spec names of the domain: defined with the spec builder in domain/.
export type { DomainFacts } from '../domain/credential-spec.js';

export interface GetDomainFactsInput {
  domainFqdn: string;
}

export interface EnsureKdsRootKeyInput {
  create: boolean;
  effective: 'immediately' | 'backdated';
}

export interface KdsRootKeyResult {
  keyId: string;
  /** ISO time from which DCs use the key to compute gMSA passwords (msKds-UseStartTime + replication). */
  usableAt: string;
  created: boolean;
}

export interface EnsureDomainUserInput {
  domainFqdn: string;
  user: string;
  /** Where the password is read from: the secret storeUserSecret wrote. */
  secret: { vaultUri: string; secretName: string };
  /** DN of the container, relative to the domain; defaults to CN=Users. */
  container?: string;
}

export interface DomainUserResult {
  dn: string;
  sid: string;
  created: boolean;
  /** True when the user existed and its password was reset to the one in Key Vault. */
  passwordReset: boolean;
}

export interface EnsureGmsaInput {
  domainFqdn: string;
  name: string;
  /** Principals allowed to retrieve the managed password (msDS-GroupMSAMembership), by SID. */
  allowedPrincipalSids: string[];
}

export interface GmsaResult {
  dn: string;
  sid: string;
  created: boolean;
  /** True when a principal was merged into an existing descriptor. */
  membershipChanged: boolean;
}

// ---- Kubernetes ------------------------------------------------------------------------------------------------

export interface EnsureCredentialSpecInput {
  cluster: ClusterRef;
  specName: string;
  gmsaName: string;
  domain: DomainFacts;
  /** PluginInput: ObjectId=<principalId>;SecretUri=<secretUri>. */
  hostAccount: { principalId: string; secretUri: string };
  rbac: { namespace: string; serviceAccount: string };
}

export interface CredentialSpecResult {
  name: string;
  resourceVersion: string;
  clusterRole: string;
  roleBinding: { namespace: string; name: string };
  changed: boolean;
}

// ---- verifyChain -----------------------------------------------------------------------------------------------

export interface VerifyChainInput {
  cluster: ClusterRef;
  domainFqdn: string;
  gmsaName: string;
  specName: string;
  secretUri: string;
  rbac: { namespace: string; serviceAccount: string };
}

export interface ChainCheck {
  link: string;
  ok: boolean;
  detail: string;
}

export interface VerifyChainResult {
  checks: ChainCheck[];
}

// ---- removal: what rollbackOnFailure (and a later deprovision) undoes -------------------------------------------

export interface RemoveGmsaInput {
  domainFqdn: string;
  name: string;
}

export interface RemoveDomainUserInput {
  domainFqdn: string;
  user: string;
  container?: string;
}

export interface RemovalResult {
  dn?: string;
  removed: boolean;
}

export interface RemoveCredentialSpecInput {
  cluster: ClusterRef;
  specName: string;
  rbac: { namespace: string; serviceAccount: string };
}

export interface RemoveCredentialSpecResult {
  /** `kind/name` of what was deleted. */
  removed: string[];
  /** What exists but was not created by this product, so it was left alone. */
  kept: string[];
}

export interface RemoveScaleSetIdentityInput {
  cluster: ClusterRef;
  nodeResourceGroup: string;
  /** Resource id of the user-assigned identity to detach. */
  identityId: string;
}

export interface DeleteManagedIdentityInput extends AzureResourceRef {
  /**
   * The cluster's node resource group: the identity is detached from every scale set there that has it before it
   * is deleted, so no scale set is left naming a deleted identity. Absent: deleted as it is.
   */
  detachFrom?: { subscriptionId: string; nodeResourceGroup: string };
}

export interface DeleteKeyVaultInput extends AzureResourceRef {
  location: string;
  /** Also purge the soft-deleted vault, so its global name is free for a rerun. */
  purge?: boolean;
}

export interface RemovalActivities {
  removeCredentialSpec(input: RemoveCredentialSpecInput): Promise<RemoveCredentialSpecResult>;
  removeGmsa(input: RemoveGmsaInput): Promise<RemovalResult>;
  removeDomainUser(input: RemoveDomainUserInput): Promise<RemovalResult>;
  removeScaleSetIdentity(input: RemoveScaleSetIdentityInput): Promise<{ scaleSetsUpdated: string[] }>;
  deleteKeyVault(input: DeleteKeyVaultInput): Promise<{ deleted: boolean; purged: boolean }>;
  deleteManagedIdentity(input: DeleteManagedIdentityInput): Promise<{ deleted: boolean; detachedFrom?: string[] }>;
}

// ---- the whole set ---------------------------------------------------------------------------------------------

/** The provisioning steps; ActivityName names these, the steps `progress` reports. */
export interface StepActivities {
  confirmAksGmsa(input: ConfirmAksGmsaInput): Promise<ConfirmAksGmsaResult>;
  ensureManagedIdentity(input: EnsureManagedIdentityInput): Promise<ManagedIdentityResult>;
  ensureKeyVault(input: EnsureKeyVaultInput): Promise<KeyVaultResult>;
  storeUserSecret(input: StoreUserSecretInput): Promise<UserSecretResult>;
  getDomainFacts(input: GetDomainFactsInput): Promise<DomainFacts>;
  ensureKdsRootKey(input: EnsureKdsRootKeyInput): Promise<KdsRootKeyResult>;
  ensureDomainUser(input: EnsureDomainUserInput): Promise<DomainUserResult>;
  ensureGmsa(input: EnsureGmsaInput): Promise<GmsaResult>;
  grantKeyVaultAccess(input: GrantKeyVaultAccessInput): Promise<GrantKeyVaultAccessResult>;
  ensureCredentialSpec(input: EnsureCredentialSpecInput): Promise<CredentialSpecResult>;
  verifyChain(input: VerifyChainInput): Promise<VerifyChainResult>;
}

export type ActivityName = keyof StepActivities;

/** Everything the worker registers. */
export type GmsaActivities = StepActivities & RemovalActivities;
export type RemovalName = keyof RemovalActivities;

// ---- dependencies shared across systems --------------------------------------------------------------------------

/** Reads a Key Vault secret's current value. The Azure side provides the real one; the AD side reads the user's
 * password through it, so the password never travels through the workflow. */
export interface SecretReader {
  read(vaultUri: string, secretName: string): Promise<string>;
}
