/**
 * Activities of the standard user's password rotation. The password never leaves an activity: it is generated and
 * staged in Key Vault, set in AD from there, and copied from there to every vault that holds the user's secret.
 * DRAFT by the contract author: the rotation work refines these types in this file.
 */
import type { OwnedInput } from './activities.js';

export interface SecretRef {
  vaultUri: string;
  secretName: string;
}

export interface RotationActivities {
  /** Every vault secret of this user's bindings (the canonical one first). */
  listUserSecrets(input: { bindingId: string; domainFqdn: string; user: string }): Promise<{ secrets: SecretRef[] }>;
  stageUserPassword(
    input: OwnedInput & { canonical: SecretRef; domainFqdn: string; user: string },
  ): Promise<{ staged: SecretRef; created: boolean }>;
  setDomainUserPassword(
    input: OwnedInput & { domainFqdn: string; user: string; from: SecretRef },
  ): Promise<{ dn: string; changed: boolean }>;
  publishUserPassword(
    input: OwnedInput & { from: SecretRef; to: SecretRef[] },
  ): Promise<{ versions: { secretUri: string; version?: string; changed: boolean }[] }>;
  dropStagedPassword(input: OwnedInput & { staged: SecretRef }): Promise<{ deleted: boolean }>;
}
