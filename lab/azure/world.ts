/**
 * What the Azure fake knows: resource groups, resources keyed by their (case-insensitive) ARM id, soft-deleted
 * vaults, the directory's principals and app registrations, and the running long operations. Seeded with the
 * cluster of DESIGN and the role assignments the lab's client needs.
 */
import { createHash, randomUUID } from 'node:crypto';

/** A stored ARM resource: the JSON the real service returns, kept as is. */
export type Resource = Record<string, unknown> & { id: string; name: string; type: string };

export interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  created: number;
}

export interface VaultData {
  secrets: Map<string, SecretVersion[]>;
  deletedSecrets: Map<string, { versions: SecretVersion[]; deletedDate: number }>;
}

export interface DeletedVault {
  name: string;
  location: string;
  vaultId: string;
  deletionDate: string;
  scheduledPurgeDate: string;
  tags: Record<string, string>;
  vault?: Resource;
  data?: VaultData;
}

export interface Operation {
  id: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: string;
  doneAt: number;
  /** What started it: the operation name and the ARM path (the fake's state shows each operation's draw). */
  op?: string;
  path?: string;
  /** Applied once, when the operation finishes: the change becomes visible to GETs then, as in ARM. */
  finish?: () => void;
  error?: { code: string; message: string };
  /**
   * Set for an operation polled through a `Location` URL (see lro.ts `startLocationOperation`): the body that URL
   * answers once the operation has succeeded (the resource as a GET would give it then).
   */
  result?: () => unknown;
}

export interface LabPrincipal {
  tenantId: string;
  clientId: string;
  objectId: string;
  clientSecret: string;
}

export interface World {
  tenantId: string;
  subscriptionId: string;
  /** The lab's own app registration: the worker's and the tests' credential. */
  client: LabPrincipal;
  /** Every app registration the token endpoint knows: `client` first, then `limitedClient`. */
  clients: LabPrincipal[];
  location: string;
  resourceGroups: Map<string, { name: string; location: string; subscriptionId: string }>;
  resources: Map<string, Resource>;
  vaultData: Map<string, VaultData>;
  deletedVaults: Map<string, DeletedVault>;
  operations: Map<string, Operation>;
  /** Object ids the directory knows: role assignments to anyone else fail with PrincipalNotFound. */
  principals: Set<string>;
}

export const LAB_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
export const LAB_TENANT = '72f9a1b0-0000-4000-8000-00000000a2b1';
export const LAB_RESOURCE_GROUP = 'rg-gmsa-lab';
export const LAB_CLUSTER = 'aks-gmsa-lab';
export const LAB_LOCATION = 'westeurope';

/**
 * A second app registration for tests of ARM authorization: "Virtual Machine Contributor" on the subscription and
 * nothing else, so it may write a scale set but not assign a user-assigned identity to it. Its secret derives
 * from the lab client's, so a test that has the lab settings can sign in as it without any admin call.
 */
export const LAB_LIMITED_CLIENT_ID = 'c0ffee01-0000-4000-8000-00000000a2b1';
export const LAB_LIMITED_OBJECT_ID = '0b1ec701-0000-4000-8000-00000000a2b1';
export const limitedClientSecret = (labClientSecret: string) =>
  createHash('sha256').update(`limited-client:${labClientSecret}`).digest('base64url');

/** Built-in role definition GUIDs ("Azure built-in roles", Microsoft Learn), for the seed. */
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const VIRTUAL_MACHINE_CONTRIBUTOR = '9980e02c-c2be-4d73-94e8-173b1dc7cf3c';

export const key = (id: string) => id.toLowerCase().replace(/\/+$/, '');
export const rgKey = (subscriptionId: string, rg: string) => `${subscriptionId}/${rg}`.toLowerCase();
export const rgId = (subscriptionId: string, rg: string) => `/subscriptions/${subscriptionId}/resourceGroups/${rg}`;

export function createWorld(clientSecret: string): World {
  const client: LabPrincipal = {
    tenantId: LAB_TENANT,
    clientId: 'c0ffee00-0000-4000-8000-00000000a2b1',
    objectId: '0b1ec700-0000-4000-8000-00000000a2b1',
    clientSecret,
  };
  const limited: LabPrincipal = {
    tenantId: LAB_TENANT,
    clientId: LAB_LIMITED_CLIENT_ID,
    objectId: LAB_LIMITED_OBJECT_ID,
    clientSecret: limitedClientSecret(clientSecret),
  };
  const world: World = {
    tenantId: LAB_TENANT,
    subscriptionId: LAB_SUBSCRIPTION,
    client,
    clients: [client, limited],
    location: LAB_LOCATION,
    resourceGroups: new Map(),
    resources: new Map(),
    vaultData: new Map(),
    deletedVaults: new Map(),
    operations: new Map(),
    principals: new Set(),
  };
  for (const c of world.clients) world.principals.add(c.objectId);
  // The worker needs Microsoft.Compute/virtualMachineScaleSets/write on the node resource groups and
  // Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action on the identities it attaches (else ARM answers
  // 403 LinkedAuthorizationFailed): Contributor on the subscription covers both, and every cluster a test seeds.
  seedRoleAssignment(world, `/subscriptions/${LAB_SUBSCRIPTION}`, CONTRIBUTOR, client.objectId);
  seedRoleAssignment(world, `/subscriptions/${LAB_SUBSCRIPTION}`, VIRTUAL_MACHINE_CONTRIBUTOR, limited.objectId);
  addResourceGroup(world, LAB_SUBSCRIPTION, LAB_RESOURCE_GROUP, LAB_LOCATION);
  seedCluster(world, { name: LAB_CLUSTER });
  return world;
}

/** A role assignment that exists before anyone calls the fake (long propagated: created in the past). */
function seedRoleAssignment(world: World, scope: string, role: string, principalId: string) {
  const name = randomUUID();
  put(world, {
    id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: `/subscriptions/${world.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
      principalId,
      principalType: 'ServicePrincipal',
      scope,
      createdOn: '2024-01-01T00:00:00.000Z',
    },
  });
}

export function addResourceGroup(world: World, subscriptionId: string, name: string, location: string) {
  const k = rgKey(subscriptionId, name);
  if (!world.resourceGroups.has(k)) world.resourceGroups.set(k, { name, location, subscriptionId });
}

export function put(world: World, resource: Resource) {
  world.resources.set(key(resource.id), resource);
}

export function get(world: World, id: string): Resource | undefined {
  return world.resources.get(key(id));
}

export function newIdentity(world: World, id: string, location: string, tags: Record<string, string> = {}): Resource {
  const name = id.split('/').pop() as string;
  const principalId = randomUUID();
  world.principals.add(principalId);
  return {
    id,
    name,
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
    location,
    tags,
    properties: { tenantId: world.tenantId, principalId, clientId: randomUUID(), isolationScope: 'None' },
  };
}

export interface ClusterSeed {
  name: string;
  resourceGroup?: string;
  location?: string;
  /** false: a service-principal cluster, which AKS refuses to give gMSA. */
  managedIdentity?: boolean;
  linuxPools?: string[];
  windowsPools?: string[];
  gmsa?: { enabled: boolean; dnsServer?: string; rootDomainName?: string };
  /** Another user-assigned identity already on the Windows scale sets (one that a grant must keep). */
  extraScaleSetIdentity?: boolean;
}

const CLUSTER_NAME = /^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/;
/** AKS pool names: lowercase letters and digits, starting with a letter; a Windows pool's at most 6 characters. */
const POOL_NAME = { Linux: /^[a-z][a-z0-9]{0,11}$/, Windows: /^[a-z][a-z0-9]{0,5}$/ };

/** Why the admin API refuses a seed, or undefined: names as AKS would take them, so the product sees real shapes. */
export function clusterSeedProblem(seed: Partial<ClusterSeed>): string | undefined {
  if (typeof seed.name !== 'string' || !CLUSTER_NAME.test(seed.name)) {
    return 'name is required: 1-63 letters, digits, _ and -, starting and ending with a letter or digit';
  }
  const pools: string[] = [];
  for (const [os, list] of [
    ['Linux', seed.linuxPools],
    ['Windows', seed.windowsPools],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || !POOL_NAME[os].test(p))) {
      return `${os.toLowerCase()}Pools must be pool names (${os === 'Windows' ? '1-6' : '1-12'} lowercase letters and digits, starting with a letter)`;
    }
    pools.push(...list);
  }
  if (seed.linuxPools?.length === 0) return 'linuxPools may not be empty: AKS needs a Linux system pool';
  if (new Set(pools).size !== pools.length) return 'pool names must be unique within the cluster';
  return undefined;
}

const clusterIdOf = (world: World, seed: Pick<ClusterSeed, 'name' | 'resourceGroup'>) =>
  `${rgId(world.subscriptionId, seed.resourceGroup ?? LAB_RESOURCE_GROUP)}/providers/Microsoft.ContainerService/managedClusters/${seed.name}`;

/** The cluster a seed would create, when it exists already (seeding it again would replace its scale sets). */
export const existingCluster = (world: World, seed: Pick<ClusterSeed, 'name' | 'resourceGroup'>) =>
  get(world, clusterIdOf(world, seed));

/** A cluster with its node resource group, kubelet identity and one scale set per pool. */
export function seedCluster(world: World, seed: ClusterSeed): Resource {
  const sub = world.subscriptionId;
  const rg = seed.resourceGroup ?? LAB_RESOURCE_GROUP;
  const location = seed.location ?? world.location;
  const managed = seed.managedIdentity ?? true;
  const nodeRg = `MC_${rg}_${seed.name}_${location}`;
  addResourceGroup(world, sub, rg, location);
  addResourceGroup(world, sub, nodeRg, location);
  const clusterId = clusterIdOf(world, { name: seed.name, resourceGroup: rg });

  const kubeletId = `${rgId(sub, nodeRg)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${seed.name}-agentpool`;
  const kubelet = newIdentity(world, kubeletId, location);
  put(world, kubelet);
  const kubeletProps = kubelet.properties as { principalId: string; clientId: string };

  let extra: Resource | undefined;
  if (seed.extraScaleSetIdentity) {
    extra = newIdentity(
      world,
      `${rgId(sub, nodeRg)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${seed.name}-monitoring`,
      location,
    );
    put(world, extra);
  }

  const pools = [
    ...(seed.linuxPools ?? ['nodepool1']).map((p, i) => ({
      name: p,
      osType: 'Linux',
      mode: i === 0 ? 'System' : 'User',
    })),
    ...(seed.windowsPools ?? ['win1']).map((p) => ({ name: p, osType: 'Windows', mode: 'User' })),
  ];
  const agentPoolProfiles = pools.map((p) => agentPoolProfile(p));

  const cluster: Resource = {
    id: clusterId,
    name: seed.name,
    type: 'Microsoft.ContainerService/ManagedClusters',
    // Changes on every write; a PUT with a stale If-Match is refused (routes-aks.ts).
    eTag: randomUUID(),
    location,
    tags: {},
    sku: { name: 'Base', tier: 'Free' },
    ...(managed ? { identity: { type: 'SystemAssigned', principalId: randomUUID(), tenantId: world.tenantId } } : {}),
    properties: {
      provisioningState: 'Succeeded',
      powerState: { code: 'Running' },
      kubernetesVersion: '1.31.2',
      currentKubernetesVersion: '1.31.2',
      dnsPrefix: seed.name,
      fqdn: `${seed.name}-dns-1a2b3c4d.hcp.${location}.azmk8s.io`,
      azurePortalFQDN: `${seed.name}-dns-1a2b3c4d.portal.hcp.${location}.azmk8s.io`,
      maxAgentPools: 100,
      agentPoolProfiles,
      windowsProfile: {
        adminUsername: 'azureuser',
        enableCSIProxy: true,
        ...(seed.gmsa ? { gmsaProfile: { ...seed.gmsa } } : {}),
      },
      servicePrincipalProfile: { clientId: managed ? 'msi' : randomUUID() },
      nodeResourceGroup: nodeRg,
      enableRBAC: true,
      networkProfile: { networkPlugin: 'azure', serviceCidr: '10.0.0.0/16', dnsServiceIP: '10.0.0.10' },
      ...(managed
        ? {
            identityProfile: {
              kubeletidentity: {
                resourceId: kubeletId,
                clientId: kubeletProps.clientId,
                objectId: kubeletProps.principalId,
              },
            },
          }
        : {}),
    },
  };
  if (managed) world.principals.add((cluster.identity as { principalId: string }).principalId);
  put(world, cluster);

  const extraIdentity = extra && { id: extra.id, ...(extra.properties as { principalId: string; clientId: string }) };
  // The kubelet identity goes on every scale set, a service-principal cluster's too (it has no identityProfile).
  const kubeletOnScaleSets = {
    resourceId: kubeletId,
    clientId: kubeletProps.clientId,
    objectId: kubeletProps.principalId,
  };
  pools.forEach((p, i) => putPoolScaleSet(world, cluster, p, 26512345 + i, extraIdentity, kubeletOnScaleSets));
  return cluster;
}

export interface PoolSeed {
  name: string;
  osType: string;
  mode: string;
  /** AKS's osSKU; by default Windows2022 for Windows, Ubuntu for Linux. */
  osSku?: string;
  count?: number;
  vmSize?: string;
}

/** An agent pool profile as AKS returns it in the cluster's agentPoolProfiles (and, nested, from agentPools). */
export function agentPoolProfile(p: PoolSeed): Record<string, unknown> & { name: string } {
  const windows = p.osType === 'Windows';
  return {
    name: p.name,
    eTag: randomUUID(),
    count: p.count ?? 1,
    vmSize: p.vmSize ?? 'Standard_D2s_v3',
    osDiskSizeGB: 128,
    osType: p.osType,
    osSKU: p.osSku ?? (windows ? 'Windows2022' : 'Ubuntu'),
    type: 'VirtualMachineScaleSets',
    mode: p.mode,
    orchestratorVersion: '1.31.2',
    currentOrchestratorVersion: '1.31.2',
    nodeImageVersion: windows
      ? `AKSWindows-${/2025/.test(p.osSku ?? '') ? '2025' : '2022'}-containerd-20348.2966.241211`
      : 'AKSUbuntu-2204gen2containerd-202412.03.0',
    provisioningState: 'Succeeded',
    powerState: { code: 'Running' },
    maxPods: windows ? 30 : 110,
  };
}

/**
 * The scale set AKS makes for a pool in the cluster's node resource group: `aks<pool>` for a Windows pool,
 * `aks-<pool>-<suffix>-vmss` for a Linux one, tagged with the pool's name, carrying the kubelet identity (and
 * `extra`, on a Windows pool) as AKS attaches it.
 */
export function putPoolScaleSet(
  world: World,
  cluster: Resource,
  p: PoolSeed,
  suffix: number,
  extra?: { id: string; principalId: string; clientId: string },
  kubeletIdentity?: { resourceId: string; clientId: string; objectId: string },
): Resource {
  const props = cluster.properties as {
    nodeResourceGroup: string;
    identityProfile?: { kubeletidentity?: { resourceId: string; clientId: string; objectId: string } };
  };
  const kubelet = kubeletIdentity ?? props.identityProfile?.kubeletidentity;
  const location = String(cluster.location);
  const windows = p.osType === 'Windows';
  const vmssName = windows ? `aks${p.name}` : `aks-${p.name}-${suffix}-vmss`;
  const ids: Record<string, unknown> = {};
  if (kubelet) ids[kubelet.resourceId] = { principalId: kubelet.objectId, clientId: kubelet.clientId };
  if (extra && windows) ids[extra.id] = { principalId: extra.principalId, clientId: extra.clientId };
  const created = new Date().toISOString();
  const vmss: Resource = {
    id: `${rgId(world.subscriptionId, props.nodeResourceGroup)}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmssName}`,
    name: vmssName,
    type: 'Microsoft.Compute/virtualMachineScaleSets',
    location,
    tags: {
      'aks-managed-poolName': p.name,
      'aks-managed-orchestrator': 'Kubernetes:1.31.2',
      'aks-managed-resourceNameSuffix': String(suffix),
    },
    sku: { name: p.vmSize ?? 'Standard_D2s_v3', tier: 'Standard', capacity: p.count ?? 1 },
    etag: `"${randomUUID()}"`,
    ...(Object.keys(ids).length ? { identity: { type: 'UserAssigned', userAssignedIdentities: ids } } : {}),
    properties: {
      provisioningState: 'Succeeded',
      timeCreated: created,
      uniqueId: randomUUID(),
      orchestrationMode: 'Uniform',
      upgradePolicy: { mode: 'Manual' },
      singlePlacementGroup: false,
      virtualMachineProfile: {
        osProfile: {
          computerNamePrefix: windows ? p.name.slice(0, 6) : `aks-${p.name}-vmss`,
          adminUsername: 'azureuser',
        },
        storageProfile: { osDisk: { osType: p.osType, createOption: 'FromImage', caching: 'ReadOnly' } },
        timeCreated: created,
      },
    },
  };
  put(world, vmss);
  return vmss;
}
