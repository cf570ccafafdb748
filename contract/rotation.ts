/**
 * Activities of the standard user's password rotation (rotateGmsaUserPassword). The password never leaves an
 * activity: it is generated into a staging secret in the canonical vault (`<secret>-next`), set in AD from there,
 * and copied from there to every vault that holds the user's secret. Inputs and results name secrets and versions,
 * never a value.
 */
import type { OwnedInput } from './activities.js';

/** A secret by where it lives; `vaultUri` ends with a slash, as ensureKeyVault returns it. */
export interface SecretRef {
  vaultUri: string;
  secretName: string;
}

/** The standard user a rotation is for. */
export interface DomainUserRef {
  domainFqdn: string;
  user: string;
}

export interface ListUserSecretsInput extends DomainUserRef {
  bindingId: string;
  /** The versionless URI of this binding's own secret (its outputs.secretUri): always listed. */
  ownSecretUri: string;
  /** The secret the user's AD marker names (findDomainUser): listed first, whether or not a binding still records it. */
  canonicalSecretUri?: string;
}

export interface UserSecretsResult {
  /** The canonical one first, then the others, each once (URIs compared case-blind). */
  secrets: SecretRef[];
  /** The bindings (provisioning ids) whose completed provisioning records one of them. */
  bindings: string[];
}

export interface StageUserPasswordInput extends OwnedInput, DomainUserRef {
  /** What listUserSecrets found, canonical first: the first that still holds this user's secret is the canonical. */
  candidates: SecretRef[];
}

/** A listed secret the rotation leaves alone, and why (gone, not ours, another user's). */
export interface SkippedSecret {
  secretUri: string;
  reason: string;
}

export interface StagedPassword {
  /** The secret the staged password will replace last: the user's canonical one. */
  canonical: SecretRef;
  /** `<canonical secret>-next` in the canonical vault. */
  staged: SecretRef;
  /** False: a staged password of an unfinished rotation was kept (a rerun never makes a second password). */
  created: boolean;
  /** Every candidate that holds this user's secret, the canonical one last: what publish writes, in that order. */
  targets: SecretRef[];
  skipped: SkippedSecret[];
}

export interface SetDomainUserPasswordInput extends OwnedInput, DomainUserRef {
  /** The staged secret: its value is the password AD gets. */
  from: SecretRef;
}

export interface DomainPasswordResult {
  dn: string;
  /** False when the user already binds with the staged password (a rerun, or a retried attempt). */
  changed: boolean;
  /** pwdLastSet as AD keeps it (ISO): when AD took the password. */
  passwordLastSet?: string;
}

export interface PublishUserPasswordInput extends OwnedInput, DomainUserRef {
  from: SecretRef;
  /** Written in this order (the canonical one last: stageUserPassword's `targets`). */
  to: SecretRef[];
}

export interface PublishedVersion {
  /** Versionless URI, the one the credential specs name. */
  secretUri: string;
  /** The version that holds the new password (the new one, or the current one when it held it already). */
  version?: string;
  changed: boolean;
  /** Set when the secret was left alone (it is gone, not ours, or holds another user's credential). */
  skipped?: string;
}

export interface RotationActivities {
  /** Every vault secret of this user's bindings (the canonical one first), from Temporal's record of them. */
  listUserSecrets(input: ListUserSecretsInput): Promise<UserSecretsResult>;
  /** Checks every candidate and stages a new password (or keeps the one staged by an unfinished rotation). */
  stageUserPassword(input: StageUserPasswordInput): Promise<StagedPassword>;
  /** Sets the staged password on the user in AD: only a user of ours, never a privileged account. */
  setDomainUserPassword(input: SetDomainUserPasswordInput): Promise<DomainPasswordResult>;
  /** Writes the staged value as a new version of each secret; one already equal gets none. */
  publishUserPassword(input: PublishUserPasswordInput): Promise<{ versions: PublishedVersion[] }>;
  /** Deletes (and purges, where the worker may) the staging secret once every vault holds its value. */
  dropStagedPassword(input: OwnedInput & { staged: SecretRef }): Promise<{ deleted: boolean; purged: boolean }>;
}
