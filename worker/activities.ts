/**
 * Composition root of the activities: configuration → clients → activity implementations. Each outside system is
 * wired only when configured; the rest fail with "not configured: …" (activities/index.ts).
 */
import { createActiveDirectoryActivities } from '../activities/active-directory.js';
import { createApprovalActivities } from '../activities/approval.js';
import { readApprovalKey } from '../config/approval-key.js';
import { createAksActivities, createKubeconfigSource } from '../activities/azure/aks.js';
import { connectAzure } from '../activities/azure/connect.js';
import { notConfigured } from '../contract/errors.js';
import { ACTIVITY_NEEDS, createActivities } from '../activities/index.js';
import { createKeyVaultAccessActivities } from '../activities/azure/key-vault-access.js';
import { createKeyVaultActivities, createSecretReader } from '../activities/azure/key-vault.js';
import { createKubernetesActivities, kubeconfigFromFile } from '../activities/kubernetes.js';
import { createManagedIdentityActivities } from '../activities/azure/managed-identity.js';
import type { ClusterRef, GmsaActivities, SecretReader } from '../contract/activities.js';
import { createVerifyChainActivity } from '../activities/verify-chain.js';
import { createQueueActivity } from '../activities/coordination.js';
import { createScaleSetActivities } from '../activities/azure/scale-set-identities.js';
import { createBindingActivities } from '../activities/binding.js';
import { createScheduleActivities } from '../activities/schedules.js';
import { createUserSecretsActivity } from '../activities/user-secrets.js';
import { createClusterGmsaActivities } from '../activities/azure/cluster-gmsa.js';
import { createInspectionActivities } from '../activities/azure/inspection.js';
import { createSecretVersionActivities } from '../activities/azure/secret-versions.js';
import { createPasswordActivities } from '../activities/active-directory/password.js';
import { createSpecListActivities } from '../activities/kubernetes/spec-list.js';
import { createValidationPodActivities } from '../activities/kubernetes/validation-pod.js';
import { readActiveDirectoryConfig } from './config/active-directory.js';
import { readAzureConfig } from './config/azure.js';
import { ConfigError } from '../config/env.js';
import { readKubernetesConfig } from './config/kubernetes.js';
import type { Logger } from '../config/logger.js';

export async function createRealActivities(env: NodeJS.ProcessEnv, log: Logger): Promise<GmsaActivities> {
  // Without the key the worker refuses every approval (verifyApproval says why); the rest works as it is.
  const parts: Partial<GmsaActivities> = {
    ...createApprovalActivities(readApprovalKey(env)),
    ...createQueueActivity(),
    // Day 2: through the worker's own Temporal client.
    ...createBindingActivities(),
    ...createScheduleActivities(),
    ...createUserSecretsActivity(),
  };

  const azure = readAzureConfig(env);
  const clients = azure ? connectAzure(azure).clients : undefined;
  if (clients) {
    Object.assign(
      parts,
      createAksActivities(clients),
      createManagedIdentityActivities(clients),
      createKeyVaultActivities(clients),
      createKeyVaultAccessActivities(clients),
      createScaleSetActivities(clients),
      createClusterGmsaActivities(clients),
      createSecretVersionActivities(clients),
      createInspectionActivities(clients),
    );
  }
  // The AD side reads the standard user's password from where storeUserSecret put it: Key Vault.
  const secrets: SecretReader = clients
    ? createSecretReader(clients)
    : {
        read: async () => {
          throw notConfigured(ACTIVITY_NEEDS.storeUserSecret);
        },
      };

  const ad = readActiveDirectoryConfig(env);
  if (ad) {
    Object.assign(
      parts,
      createActiveDirectoryActivities({ config: ad, secrets, log }),
      createPasswordActivities({ config: ad, secrets, log }),
    );
  }

  const kube = readKubernetesConfig(env);
  if (kube) {
    let kubeconfigFor: (cluster: ClusterRef) => Promise<string>;
    if (kube.source === 'file') kubeconfigFor = kubeconfigFromFile(kube.path);
    else if (clients) {
      const source = createKubeconfigSource(clients);
      kubeconfigFor = (cluster) => source.getKubeconfig(cluster, kube.credentials);
    } else throw new ConfigError('KUBECONFIG', '"aks" needs Azure configured (AZURE_SUBSCRIPTION_ID and a credential)');
    const kubeDeps = { kubeconfigFor, context: kube.context };
    const kubernetes = createKubernetesActivities(kubeDeps);
    Object.assign(parts, kubernetes, createSpecListActivities(kubeDeps), createValidationPodActivities(kubeDeps));
    // The chain check walks all three systems.
    if (ad && clients) {
      const { canUseCredentialSpec } = kubernetes;
      Object.assign(parts, createVerifyChainActivity({ secrets, ad, canUseCredentialSpec }));
    }
  }
  return createActivities(parts);
}
