/**
 * Contract tests: each x-ms-examples request of the official Azure REST specs (test/fixtures/azure-specs, pinned by
 * api-version) for the operations the product calls, replayed against the fake with the example's placeholders
 * mapped to lab names; the answer must use a status code, LRO header and body shape the spec allows. A failure names
 * each divergence; there is no list of expected ones.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { ROLE } from '../../../../activities/azure/vault-access.js';
import {
  admin,
  azureLabSettings,
  LAB_RG,
  labClients,
  LOCATION,
  seedCluster,
  unique,
  withFault,
} from '../../../support/azure-lab.js';
import { replay, type Arranged } from './replay.js';

const sub = () => azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
const tenant = () => azureLabSettings().AZURE_TENANT_ID as string;

/** A vault of its own in the lab resource group, in access-policy mode. */
async function seedVault(): Promise<{ name: string; id: string }> {
  const name = unique('kvc-');
  const vault = await labClients()
    .keyVault(sub())
    .vaults.createOrUpdate(LAB_RG, name, {
      location: LOCATION,
      properties: {
        tenantId: tenant(),
        sku: { family: 'A', name: 'standard' },
        enableRbacAuthorization: false,
        accessPolicies: [],
      },
    });
  return { name, id: String(vault.id) };
}

/** A vault whose access policy lets the lab client get and set secrets; its data-plane URI. */
async function seedSecretVault(): Promise<string> {
  const vault = await labClients()
    .keyVault(sub())
    .vaults.createOrUpdate(LAB_RG, unique('kvs-'), {
      location: LOCATION,
      properties: {
        tenantId: tenant(),
        sku: { family: 'A', name: 'standard' },
        enableRbacAuthorization: false,
        accessPolicies: [
          { tenantId: tenant(), objectId: await callerObjectId(), permissions: { secrets: ['get', 'set'] } },
        ],
      },
    });
  return String(vault.properties.vaultUri);
}

async function seedIdentity(): Promise<string> {
  const name = unique('mic-');
  await labClients().msi(sub()).userAssignedIdentities.createOrUpdate(LAB_RG, name, { location: LOCATION });
  return name;
}

/** The lab client's object id: a principal the fake's directory knows. */
const callerObjectId = async () => (await labClients().caller()).objectId;

const rgParams = () => ({ subscriptionId: sub(), resourceGroupName: LAB_RG });

/** A cluster of its own; its Windows pool's scale set (`aks<pool>`, as AKS names it) in the node resource group. */
async function seedScaleSet() {
  const cluster = await seedCluster();
  return {
    cluster,
    params: {
      subscriptionId: sub(),
      resourceGroupName: cluster.nodeResourceGroup,
      vmScaleSetName: `aks${cluster.windowsNodePools[0]}`,
    },
  };
}

interface Case {
  spec: string;
  operationId: string;
  example: string;
  /** Seeds what the example needs and maps its placeholders (subscription, group, names) to lab values. */
  arrange(): Promise<Arranged>;
  /** What this case changes from the example, when it replays one example more than once. */
  variant?: string;
}

const KV = 'keyvault/2026-02-01/openapi.json';
// The vault examples show the resource id of a managed HSM pool with a zero GUID; a standard-SKU vault (the only kind
// the product creates) is on no HSM pool, so Azure leaves the property out.
const HSM_POOL = 'properties.hsmPoolResourceId';
const MSI = 'msi/2024-11-30/ManagedIdentity.json';
const AUTHZ = 'authorization/2022-04-01/authorization-RoleAssignmentsCalls.json';
const COMPUTE = 'compute/2025-04-01/ComputeRP.json';
const SECRETS = 'keyvault-secrets/2025-07-01/secrets.json';
// The data plane's token audience (secrets.json securityDefinitions: https://vault.azure.net/.default).
const VAULT_AUDIENCE = 'https://vault.azure.net';

/** A secret of its own in a vault of its own, set the way the product sets one; its name and version. */
async function seedSecret(vaultUri: string) {
  const name = unique('cs-');
  const stored = await labClients().secrets(vaultUri).setSecret(name, `v-${randomUUID()}`);
  return { name, version: String(stored.properties.version) };
}
const AKS = 'containerservice/2025-10-01/managedClusters.json';
const AKS_EXAMPLE_SUB = '00000000-0000-0000-0000-000000000000';

/** A cluster of its own, named in the managed-cluster paths' parameters. */
const clusterParams = async () => ({ ...rgParams(), resourceName: (await seedCluster()).name });
// The example's role (not one the lab directory knows) becomes Key Vault Secrets User, its principal the lab's client.
const EXAMPLE_ROLE = '0b5fe924-9a61-425c-96af-cfe6e287ca2d';
const EXAMPLE_SUB = 'a925f2f7-5c63-4b7b-8799-25a5f97bc3b2';
const EXAMPLE_PRINCIPAL = 'ce2ce14e-85d7-4629-bdbc-454d0519d987';

const cases: Case[] = [
  {
    spec: KV,
    operationId: 'Vaults_CreateOrUpdate',
    example: 'createVault.json',
    arrange: async () => ({
      params: { ...rgParams(), vaultName: unique('kvc-') },
      replace: { westus: LOCATION },
      notReturned: [HSM_POOL],
    }),
  },
  {
    spec: KV,
    operationId: 'Vaults_Get',
    example: 'getVault.json',
    arrange: async () => ({ params: { ...rgParams(), vaultName: (await seedVault()).name }, notReturned: [HSM_POOL] }),
  },
  {
    spec: KV,
    operationId: 'Vaults_UpdateAccessPolicy',
    example: 'updateAccessPoliciesAdd.json',
    arrange: async () => ({ params: { ...rgParams(), vaultName: (await seedVault()).name } }),
  },
  {
    spec: KV,
    operationId: 'Vaults_Delete',
    example: 'deleteVault.json',
    arrange: async () => ({ params: { ...rgParams(), vaultName: (await seedVault()).name } }),
  },
  {
    spec: KV,
    operationId: 'Vaults_GetDeleted',
    example: 'getDeletedVault.json',
    async arrange() {
      const vaultName = unique('kvd-');
      await admin().seedDeletedVault(vaultName, LOCATION);
      return { params: { subscriptionId: sub(), location: LOCATION, vaultName } };
    },
  },
  {
    spec: KV,
    operationId: 'Vaults_PurgeDeleted',
    example: 'purgeDeletedVault.json',
    async arrange() {
      const vaultName = unique('kvd-');
      await admin().seedDeletedVault(vaultName, LOCATION);
      return { params: { subscriptionId: sub(), location: LOCATION, vaultName } };
    },
  },
  {
    spec: MSI,
    operationId: 'UserAssignedIdentities_CreateOrUpdate',
    example: 'IdentityCreate.json',
    arrange: async () => ({ params: { ...rgParams(), resourceName: unique('mic-') }, replace: { eastus: LOCATION } }),
  },
  {
    spec: MSI,
    operationId: 'UserAssignedIdentities_Get',
    example: 'IdentityGet.json',
    arrange: async () => ({ params: { ...rgParams(), resourceName: await seedIdentity() } }),
  },
  {
    spec: MSI,
    operationId: 'UserAssignedIdentities_Delete',
    example: 'IdentityDelete.json',
    arrange: async () => ({ params: { ...rgParams(), resourceName: await seedIdentity() } }),
  },
  {
    spec: AUTHZ,
    operationId: 'RoleAssignments_Create',
    example: 'RoleAssignments_CreateForResource.json',
    async arrange() {
      const vault = await seedVault();
      return {
        params: { scope: vault.id, roleAssignmentName: randomUUID() },
        replace: {
          [EXAMPLE_SUB]: sub(),
          [EXAMPLE_ROLE]: ROLE.keyVaultSecretsUser,
          [EXAMPLE_PRINCIPAL]: await callerObjectId(),
        },
      };
    },
  },
  {
    spec: AUTHZ,
    operationId: 'RoleAssignments_ListForScope',
    example: 'RoleAssignments_ListForScope.json',
    async arrange() {
      // One assignment of its own, so the list the example shows is not empty.
      const vault = await seedVault();
      await labClients()
        .authorization(sub())
        .roleAssignments.create(vault.id, randomUUID(), {
          roleDefinitionId: `/subscriptions/${sub()}/providers/Microsoft.Authorization/roleDefinitions/${ROLE.keyVaultSecretsUser}`,
          principalId: await callerObjectId(),
          principalType: 'ServicePrincipal',
        });
      return { params: { scope: `subscriptions/${sub()}` } };
    },
  },
  {
    spec: COMPUTE,
    operationId: 'VirtualMachineScaleSets_List',
    example: 'VirtualMachineScaleSet_List_MinimumSet_Gen.json',
    async arrange() {
      const { params } = await seedScaleSet();
      return { params: { subscriptionId: params.subscriptionId, resourceGroupName: params.resourceGroupName } };
    },
  },
  {
    spec: COMPUTE,
    operationId: 'VirtualMachineScaleSets_Get',
    example: 'VirtualMachineScaleSet_Get.json',
    arrange: async () => ({ params: (await seedScaleSet()).params }),
  },
  {
    spec: COMPUTE,
    operationId: 'VirtualMachineScaleSets_Update',
    example: 'VirtualMachineScaleSet_Update_MinimumSet_Gen.json',
    arrange: async () => ({ params: (await seedScaleSet()).params }),
  },
  {
    spec: COMPUTE,
    operationId: 'VirtualMachineScaleSets_Update',
    example: 'VirtualMachineScaleSet_Update_MinimumSet_Gen.json',
    variant: "the product's identity PATCH in place of the example's empty body",
    async arrange() {
      // What grantKeyVaultAccess sends (activities/azure/key-vault-access.ts): the scale set's identities plus the new
      // one, each as {}. The example's body is empty, so this body is checked against VirtualMachineScaleSetUpdate.
      const { cluster, params } = await seedScaleSet();
      const kubelet = `/subscriptions/${sub()}/resourceGroups/${cluster.nodeResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${cluster.name}-agentpool`;
      const added = `/subscriptions/${sub()}/resourceGroups/${LAB_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${await seedIdentity()}`;
      const identity = { type: 'UserAssigned', userAssignedIdentities: { [kubelet]: {}, [added]: {} } };
      return { params: { ...params, parameters: { identity } } };
    },
  },
  {
    spec: AKS,
    operationId: 'ManagedClusters_Get',
    example: 'ManagedClustersGet.json',
    arrange: async () => ({ params: await clusterParams() }),
  },
  {
    spec: AKS,
    operationId: 'ManagedClusters_CreateOrUpdate',
    example: 'ManagedClustersCreate_UpdateWindowsGmsa.json',
    // An update of a cluster of its own (the lab creates clusters only through its admin API); the body is the
    // example's, with its subscription and location mapped to the lab's.
    arrange: async () => ({
      params: await clusterParams(),
      replace: { [AKS_EXAMPLE_SUB]: sub(), location1: LOCATION },
    }),
  },
  {
    spec: AKS,
    operationId: 'ManagedClusters_CreateOrUpdate',
    example: 'ManagedClustersCreate_UpdateWindowsGmsa.json',
    variant: "the product's PUT (the cluster as read, gmsaProfile set, If-Match on its eTag)",
    async arrange() {
      // What enableGmsa sends (activities/azure/aks.ts): the whole cluster as read with windowsProfile.gmsaProfile set,
      // conditional on the eTag read (the if-match parameter of ManagedClusters_CreateOrUpdate).
      const params = await clusterParams();
      const current = await labClients().aks(sub()).managedClusters.get(LAB_RG, params.resourceName);
      const raw = (await admin().state()).resources.find((r) => r.id === current.id) as Record<string, unknown>;
      const props = raw.properties as { windowsProfile: Record<string, unknown> };
      const parameters = {
        ...raw,
        properties: {
          ...props,
          windowsProfile: {
            ...props.windowsProfile,
            gmsaProfile: { enabled: true, dnsServer: '10.1.0.4', rootDomainName: 'corp.example.com' },
          },
        },
      };
      // As the product does: If-Match only when the cluster was read with an eTag.
      const headers: Record<string, string> = current.eTag ? { 'if-match': current.eTag } : {};
      return { params: { ...params, parameters }, headers };
    },
  },
  {
    spec: AKS,
    operationId: 'ManagedClusters_ListClusterUserCredentials',
    example: 'ManagedClustersListClusterUserCredentials.json',
    arrange: async () => ({ params: await clusterParams() }),
  },
  {
    spec: AKS,
    operationId: 'AgentPools_List',
    example: 'AgentPoolsList.json',
    arrange: async () => ({ params: await clusterParams() }),
  },
  {
    spec: SECRETS,
    operationId: 'SetSecret',
    example: 'SetSecret-example.json',
    arrange: async () => ({
      params: { 'secret-name': unique('cs-') },
      baseUrl: await seedSecretVault(),
      audience: VAULT_AUDIENCE,
    }),
  },
  {
    spec: SECRETS,
    operationId: 'GetSecret',
    example: 'GetSecret-example.json',
    async arrange() {
      const baseUrl = await seedSecretVault();
      const secret = await seedSecret(baseUrl);
      return {
        params: { 'secret-name': secret.name, 'secret-version': secret.version },
        baseUrl,
        audience: VAULT_AUDIENCE,
      };
    },
  },
  {
    spec: SECRETS,
    operationId: 'GetSecret',
    example: 'GetSecret-example.json',
    variant: 'the latest version (an empty secret-version, as the product asks for it)',
    async arrange() {
      // SecretClient.getSecret(name) without a version sends GET /secrets/{name}/ (the product's call).
      const baseUrl = await seedSecretVault();
      const secret = await seedSecret(baseUrl);
      return { params: { 'secret-name': secret.name, 'secret-version': '' }, baseUrl, audience: VAULT_AUDIENCE };
    },
  },
];

describe('the fake answers the official REST spec examples as the specs say', () => {
  for (const c of cases) {
    const name = `${c.operationId} (${c.spec.split('/').slice(0, 2).join(' ')}) replaying ${c.example}`;
    test(c.variant ? `${name}, ${c.variant}` : name, async () => {
      const r = await replay(c.spec, c.operationId, c.example, await c.arrange());
      assert.deepEqual(
        r.problems,
        [],
        `${c.operationId} ${c.example}: status ${r.status}\n  ${r.problems.join('\n  ')}`,
      );
    });
  }
});

describe('the replayer sees what it claims to check', () => {
  test('a scale-set PATCH whose long-running operation ends Failed is reported, with its error code', async () => {
    // The fake's lroFailed fault (lab/azure/knobs.ts), scoped to this test's own node resource group: the PATCH is
    // accepted as usual and its operation ends Failed. Without following the operation, the replay would pass.
    const { cluster, params } = await seedScaleSet();
    const r = await withFault(
      { op: 'PATCH virtualMachineScaleSets', kind: 'lroFailed', pathIncludes: cluster.nodeResourceGroup },
      () =>
        replay(COMPUTE, 'VirtualMachineScaleSets_Update', 'VirtualMachineScaleSet_Update_MinimumSet_Gen.json', {
          params,
        }),
    );
    assert.equal(r.status, 200);
    assert.ok(
      r.problems.some((p) => /^the operation ended Failed \([^)]+\)$/.test(p) && !p.includes('no error code')),
      `expected the Failed operation among the problems, got:\n  ${r.problems.join('\n  ')}`,
    );
  });
});
