/**
 * The activity contract: what each provisioning step takes and returns. The workflow imports these types only;
 * implementations live one file per outside system (aks, active-directory, key-vault, managed-identity, kubernetes)
 * and are assembled by createActivities (activities/index.ts).
 *
 * Nothing here carries a secret: passwords move only between Key Vault and AD inside an activity.
 */
import type { DomainFacts } from '../domain/credential-spec.js';
import type { Owner } from '../domain/ownership.js';
import type { ClusterRef } from '../domain/request.js';
import type { CoordinationActivities } from './coordination.js';
import type { InspectionActivities } from './inspection.js';
import type { LifecycleActivities } from './lifecycle.js';
import type { BindingActivities } from './operations.js';
import type { RotationActivities } from './rotation.js';
import type { ValidationActivities } from './validation.js';

export type { ClusterRef, Owner };

/**
 * Every step that may create or change an object, and every removal, says for whom (DESIGN "A shared world"): the
 * binding whose marker it writes or looks for, and what the caller adopts. Absent only in runs started before
 * ownership (the legacy graphs): the activity then takes the binding from its workflow id and adopts nothing.
 */
export interface OwnedInput {
  owner?: Owner;
}

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

export interface EnsureManagedIdentityInput extends AzureResourceRef, OwnedInput {
  location: string;
}

export interface ManagedIdentityResult {
  id: string;
  /** True when it existed without our marker and options.adopt named managedIdentity. */
  adopted?: boolean;
  /** The objectId: what the CCG plugin puts in ObjectId= and what Key Vault access is granted to. */
  principalId: string;
  clientId: string;
  created: boolean;
}

// ---- ensureKeyVault / storeUserSecret / grantKeyVaultAccess ----------------------------------------------------

export interface EnsureKeyVaultInput extends AzureResourceRef, OwnedInput {
  location: string;
  accessMode: 'accessPolicy' | 'rbac';
}

export interface KeyVaultResult {
  id: string;
  vaultUri: string;
  created: boolean;
  /** True when it existed without our marker and options.adopt named keyVault. */
  adopted?: boolean;
  /** How the vault authorises reads: what grantKeyVaultAccess must use (an adopted vault keeps its own). */
  accessMode?: 'accessPolicy' | 'rbac';
}

export interface StoreUserSecretInput extends OwnedInput {
  vaultUri: string;
  secretName: string;
  /** Written as `<DOMAIN FQDN>\<user>:<password>`, the CCG plugin's format. */
  domainFqdn: string;
  user: string;
  /**
   * One password per user: the versionless URI of the user's canonical secret (findDomainUser), when the user
   * exists already and this binding's secret is another one. The value is copied from there, never generated.
   */
  copyFrom?: string;
}

export interface UserSecretResult {
  /** Versionless secret URI, so the node plugin always reads the latest version. */
  secretUri: string;
  /** False when an existing well-formed secret for the same user was kept. */
  created: boolean;
  /** Set when the value was copied from the user's canonical secret. */
  copiedFrom?: string;
}

export interface GrantKeyVaultAccessInput extends OwnedInput {
  cluster: ClusterRef;
  nodeResourceGroup: string;
  vault: { id: string } & AzureResourceRef;
  hostIdentity: 'managedIdentity' | 'kubeletIdentity';
  /** The identity to attach and grant; required when hostIdentity is managedIdentity. */
  managedIdentity?: { id: string; principalId: string };
  kubeletIdentity?: { objectId: string };
  accessMode: 'accessPolicy' | 'rbac';
  /** Least privilege: on an RBAC vault the role assignment is scoped to this one secret. */
  secretName?: string;
  /**
   * False: the identity reaches the scale sets through their coordinators (attachIdentity), this step grants
   * read only. Absent or true (runs started before coordination): this step attaches it itself.
   */
  attachToScaleSets?: boolean;
}

export interface GrantKeyVaultAccessResult {
  /** The principal the node plugin reads the secret as (PluginInput ObjectId). */
  principalId: string;
  /** Scale sets this run attached the identity to (empty on a rerun). */
  scaleSetsUpdated: string[];
  access: 'accessPolicy' | 'roleAssignment';
  /** What the grant covers: the one secret (RBAC), or every secret of the vault (an access policy cannot scope). */
  scope?: 'secret' | 'vault';
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

export interface FindDomainUserInput extends OwnedInput {
  domainFqdn: string;
  user: string;
}

/**
 * What exists of the standard user before anything is written. Fails (non-retryably, no write) for an account
 * that is privileged, or not ours and not adopted.
 */
export interface DomainUserLookup {
  /** Undefined: no such user; ensureDomainUser creates it with the new password in this binding's secret. */
  existing?: {
    dn: string;
    /** ours: marked by this product; adopted: unmarked, and the caller adopts domainUser (its password is reset). */
    ownership: 'ours' | 'adopted';
    /** The versionless URI of the secret holding its password (the marker's), when ours. */
    canonicalSecretUri?: string;
  };
}

export interface EnsureDomainUserInput extends OwnedInput {
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
  /** True when it existed without our marker and was adopted (options.adopt domainUser). */
  adopted?: boolean;
}

export interface EnsureGmsaInput extends OwnedInput {
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
  /** True when it existed without our marker and was adopted (options.adopt gmsa). */
  adopted?: boolean;
}

// ---- Kubernetes ------------------------------------------------------------------------------------------------

export interface EnsureCredentialSpecInput extends OwnedInput {
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
  /** Kinds adopted from someone else (options.adopt credentialSpec / rbac). */
  adopted?: string[];
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

export interface RemoveGmsaInput extends OwnedInput {
  domainFqdn: string;
  name: string;
}

export interface RemoveDomainUserInput extends OwnedInput {
  domainFqdn: string;
  user: string;
  container?: string;
}

export interface RemovalResult {
  dn?: string;
  removed: boolean;
  /** Why it was left (not ours, or another binding still uses it: only this binding's mark came off). */
  kept?: string;
}

export interface RemoveCredentialSpecInput extends OwnedInput {
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

export interface RemoveScaleSetIdentityInput extends OwnedInput {
  cluster: ClusterRef;
  nodeResourceGroup: string;
  /** Resource id of the user-assigned identity to detach. */
  identityId: string;
}

export interface DeleteManagedIdentityInput extends AzureResourceRef, OwnedInput {
  /**
   * The cluster's node resource group: the identity is detached from every scale set there that has it before it
   * is deleted, so no scale set is left naming a deleted identity. Absent: deleted as it is.
   */
  detachFrom?: { subscriptionId: string; nodeResourceGroup: string };
}

export interface DeleteKeyVaultInput extends AzureResourceRef, OwnedInput {
  location: string;
  /** Also purge the soft-deleted vault, so its global name is free for a rerun. */
  purge?: boolean;
}

export interface DeleteUserSecretInput extends OwnedInput {
  vaultUri: string;
  secretName: string;
}

export interface RevokeKeyVaultAccessInput extends OwnedInput {
  vault: AzureResourceRef;
  /** The principal grantKeyVaultAccess gave read to. */
  principalId: string;
  secretName?: string;
}

export interface RemovalActivities {
  deleteUserSecret(input: DeleteUserSecretInput): Promise<RemovalResult>;
  revokeKeyVaultAccess(input: RevokeKeyVaultAccessInput): Promise<{ revoked: string[]; kept?: string[] }>;
  removeCredentialSpec(input: RemoveCredentialSpecInput): Promise<RemoveCredentialSpecResult>;
  removeGmsa(input: RemoveGmsaInput): Promise<RemovalResult>;
  removeDomainUser(input: RemoveDomainUserInput): Promise<RemovalResult>;
  removeScaleSetIdentity(input: RemoveScaleSetIdentityInput): Promise<{ scaleSetsUpdated: string[]; kept?: string }>;
  deleteKeyVault(input: DeleteKeyVaultInput): Promise<{ deleted: boolean; purged: boolean; kept?: string }>;
  deleteManagedIdentity(
    input: DeleteManagedIdentityInput,
  ): Promise<{ deleted: boolean; detachedFrom?: string[]; kept?: string }>;
}

// ---- the whole set ---------------------------------------------------------------------------------------------

/** The provisioning steps; ActivityName names these, the steps `progress` reports. */
export interface StepActivities {
  confirmAksGmsa(input: ConfirmAksGmsaInput): Promise<ConfirmAksGmsaResult>;
  ensureManagedIdentity(input: EnsureManagedIdentityInput): Promise<ManagedIdentityResult>;
  ensureKeyVault(input: EnsureKeyVaultInput): Promise<KeyVaultResult>;
  storeUserSecret(input: StoreUserSecretInput): Promise<UserSecretResult>;
  getDomainFacts(input: GetDomainFactsInput): Promise<DomainFacts>;
  findDomainUser(input: FindDomainUserInput): Promise<DomainUserLookup>;
  ensureKdsRootKey(input: EnsureKdsRootKeyInput): Promise<KdsRootKeyResult>;
  ensureDomainUser(input: EnsureDomainUserInput): Promise<DomainUserResult>;
  ensureGmsa(input: EnsureGmsaInput): Promise<GmsaResult>;
  grantKeyVaultAccess(input: GrantKeyVaultAccessInput): Promise<GrantKeyVaultAccessResult>;
  ensureCredentialSpec(input: EnsureCredentialSpecInput): Promise<CredentialSpecResult>;
  verifyChain(input: VerifyChainInput): Promise<VerifyChainResult>;
}

export type ActivityName = keyof StepActivities;

// ---- the approval's proof -------------------------------------------------------------------------------------

/** What the API signs when its approver role approves (temporal/approval-proof.ts). */
export interface SignedApproval {
  by: string;
  comment?: string;
  /** ISO time the API signed it. */
  at: string;
  /** HMAC over the workflow id and the fields above, with the key only the API and the worker hold. */
  proof: string;
}

export interface VerifyApprovalInput {
  workflowId: string;
  approval: SignedApproval;
}

export interface ApprovalActivities {
  /** True when the proof is the API's for this workflow; never throws for a bad proof. */
  verifyApproval(input: VerifyApprovalInput): Promise<{ valid: boolean; reason?: string }>;
}

/** Everything the worker registers. */
export type GmsaActivities = StepActivities &
  RemovalActivities &
  ApprovalActivities &
  CoordinationActivities &
  DayTwoActivities;
/** What the day-2 operations add (contract/operations.ts and the files it names). */
export type DayTwoActivities = BindingActivities &
  LifecycleActivities &
  RotationActivities &
  InspectionActivities &
  ValidationActivities;
export type RemovalName = keyof RemovalActivities;

// ---- dependencies shared across systems --------------------------------------------------------------------------

/** Reads a Key Vault secret's current value. The Azure side provides the real one; the AD side reads the user's
 * password through it, so the password never travels through the workflow. */
export interface SecretReader {
  read(vaultUri: string, secretName: string): Promise<string>;
}
