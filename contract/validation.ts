/**
 * Validation of a binding (validate mode "chain" or "pod"). Pod mode: a Windows pod that uses the credential spec
 * runs the checks of Start-GMSACredentialSpecValidation (domain/validation-output.ts); each output is parsed for
 * success, never the exit code alone.
 */
import type { ChainCheck, ClusterRef, OwnedInput } from './activities.js';

export interface ValidationPodInput extends OwnedInput {
  cluster: ClusterRef;
  specName: string;
  /** The gMSA's name: the Kerberos ticket must be for `<gmsaName>$`. */
  gmsaName: string;
  domainFqdn: string;
  /** The binding's RBAC: the pod runs in this namespace as this service account, as its workloads do. */
  namespace: string;
  serviceAccount: string;
  /**
   * The Windows pool it runs on, with its OS SKU (the image follows it): the binding's first Windows pool. A
   * Windows container runs only on its own Windows release, so one pod validates one release.
   */
  pool: { name: string; osSku?: string };
  /** How long the pod may take to be scheduled and run its checks. */
  timeoutSeconds: number;
  /** Names the pod together with the binding (`aks-gmsa-validate-<binding key>-<run>`): the workflow's run id. */
  run: string;
}

export interface ValidationPodResult {
  pod: string;
  namespace: string;
  node?: string;
  image: string;
  /** Every check, in the order the pod ran them; the activity fails unless all passed. */
  checks: ChainCheck[];
  /** True when a pod of this run (an earlier attempt's) was found and its run used. */
  reused: boolean;
}

export interface ValidationActivities {
  /**
   * Creates the pod (marked as the binding's), waits for it to finish, reads and judges its log, and removes it
   * whatever happened. Fails non-retryably when a check fails (naming it) or when no node runs the pod within
   * `timeoutSeconds` (saying why: pending, which selector no node matches).
   */
  runValidationPod(input: ValidationPodInput): Promise<ValidationPodResult>;
}

/** validateGmsa's result. */
export interface ValidateResult {
  mode: 'chain' | 'pod';
  checks: ChainCheck[];
  /** Pod mode: where the checks ran. */
  pod?: { name: string; namespace: string; node?: string; image: string; pool: string };
}
