/** The DESIGN example request, valid as it stands, for tests, benchmarks and the lab; overrides change one part. */
import type { ProvisionRequest } from '../domain/request.js';

export function exampleRequest(
  overrides: {
    spec?: string;
    options?: Partial<ProvisionRequest['options']>;
    kds?: Partial<ProvisionRequest['kdsRootKey']>;
  } = {},
): ProvisionRequest {
  const spec = overrides.spec ?? 'webapp01';
  return {
    cluster: {
      subscriptionId: '00000000-0000-0000-0000-000000000000',
      resourceGroup: 'rg-aks',
      name: 'aks1',
      windowsNodePools: ['win1'],
    },
    domain: { fqdn: 'contoso.com', dnsServer: '10.0.0.4', controllerAddress: 'dc1.contoso.com' },
    gmsa: { name: 'webapp01', standardUser: 'gmsa-webapp01', credentialSpecName: spec },
    azure: {
      location: 'westeurope',
      keyVault: { name: 'kv-gmsa-01', secretName: 'gmsa-webapp01' },
      managedIdentity: { name: 'mi-gmsa-01' },
    },
    kdsRootKey: { create: true, effective: 'immediately', ...overrides.kds },
    options: {
      enableGmsaOnCluster: true,
      requireAdApproval: false,
      hostIdentity: 'managedIdentity',
      keyVaultAccess: 'accessPolicy',
      rbac: { namespace: 'default', serviceAccount: 'default' },
      rollbackOnFailure: false,
      adopt: [],
      ...overrides.options,
    },
  };
}
