/** An ensureCredentialSpec input for the lab cluster, shaped like a real request's, for tests and benchmarks. */
import type { EnsureCredentialSpecInput } from '../../contract/activities.js';

export function specInput(specName: string, over: Partial<EnsureCredentialSpecInput> = {}): EnsureCredentialSpecInput {
  return {
    cluster: {
      subscriptionId: '00000000-0000-0000-0000-000000000000',
      resourceGroup: 'rg-gmsa-lab',
      name: 'aks-gmsa-lab',
      windowsNodePools: ['win1'],
    },
    specName,
    gmsaName: 'webapp01',
    domain: {
      dnsName: 'lab.example.test',
      netbiosName: 'LAB',
      forestRoot: 'lab.example.test',
      domainGuid: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      domainSid: 'S-1-5-21-1004336348-1177238915-682003330',
    },
    hostAccount: {
      principalId: '9a3c1a52-0d1e-4b7c-8f57-5a6f0c1d2e3f',
      secretUri: 'https://kv-gmsa-01.vault.azure.net/secrets/gmsa-webapp01',
    },
    rbac: { namespace: 'default', serviceAccount: 'default' },
    ...over,
  };
}
