/**
 * Pod validation (validate mode "pod"): a Windows pod that uses the credential spec runs the checks of
 * Start-GMSACredentialSpecValidation; each output is parsed for success, never the exit code alone.
 * DRAFT by the contract author: the validation work refines these types in this file.
 */
import type { ChainCheck, ClusterRef, OwnedInput } from './activities.js';

export interface ValidationPodInput extends OwnedInput {
  cluster: ClusterRef;
  specName: string;
  domainFqdn: string;
  namespace: string;
  serviceAccount: string;
  /** The Windows pools it may run on, with their OS SKU (the image follows it). */
  pools: { name: string; osSku?: string }[];
  timeoutSeconds: number;
}

export interface ValidationPodResult {
  pod: string;
  node?: string;
  checks: ChainCheck[];
}

export interface ValidationActivities {
  runValidationPod(input: ValidationPodInput): Promise<ValidationPodResult>;
}
