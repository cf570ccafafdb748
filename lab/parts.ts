/**
 * The lab's stand-ins for the outside world, in start order, each with the settings that replace it with a real
 * system. `npm start` and the test runner take them from here.
 */
import type { LabPart } from './part.js';
import { azureLabPart } from './azure/index.js';
import { kubernetesLab } from './kubernetes/index.js';
import { sambaLab } from './samba/index.js';

export interface LabPartEntry {
  part: LabPart;
  /** Environment variables that point at a real system instead. */
  replacedBy: string[];
  /** The integration test folder (test/integration/<dir>) that needs it. */
  testDir: string;
}

/** `keepAzureWorld`: the Azure fake keeps its world under .lab/azure (`npm start`); tests keep it in memory. */
export function labParts({ keepAzureWorld = false }: { keepAzureWorld?: boolean } = {}): LabPartEntry[] {
  return [
    { part: sambaLab, replacedBy: ['AD_URL'], testDir: 'active-directory' },
    { part: kubernetesLab, replacedBy: ['KUBECONFIG'], testDir: 'kubernetes' },
    // After Kubernetes: listClusterUserCredential hands out the lab cluster's kubeconfig.
    { part: azureLabPart({ keepWorld: keepAzureWorld }), replacedBy: ['AZURE_SUBSCRIPTION_ID'], testDir: 'azure' },
  ];
}
