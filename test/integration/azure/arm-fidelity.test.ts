/**
 * Where the lab ARM fake follows Azure because the REST specs and Microsoft's docs say so, seen through the real
 * SDK clients (raw HTTPS only for what a client hides: response headers, the Location polling URL): the scale-set
 * identity merge, role assignments down to one secret, the vault defaults of api-version 2026-02-01 and its
 * Location-style create, ARM's linked authorization on identities, and managed-cluster eTags.
 */
import { KeyVaultManagementClient, type VaultCreateOrUpdateParameters } from '@azure/arm-keyvault';
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { describe, it } from 'node:test';
import { pipelineOptions } from '../../../activities/azure/clients.js';
import { connectAzure } from '../../../activities/azure/connect.js';
import { LAB_LIMITED_CLIENT_ID, LAB_LIMITED_OBJECT_ID, limitedClientSecret } from '../../../lab/azure/world.js';
import {
  admin,
  azureLabSettings,
  LAB_RG,
  labClients,
  labConnection,
  LOCATION,
  seedCluster,
  unique,
  withOverride,
} from '../../support/azure-lab.js';

const ROLE = {
  secretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  secretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  managedIdentityOperator: 'f1a07417-d97a-45cb-824c-7a7467783830',
};

const settings = () => azureLabSettings();
const sub = () => settings().AZURE_SUBSCRIPTION_ID as string;
const caPem = () => readFileSync(settings().AZURE_CA_FILE as string, 'utf8');
const roleId = (guid: string) => `/subscriptions/${sub()}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

/** A credential for the lab's second app registration: Virtual Machine Contributor on the subscription, no more. */
function limitedCredential() {
  const s = settings();
  return new ClientSecretCredential(
    s.AZURE_TENANT_ID as string,
    LAB_LIMITED_CLIENT_ID,
    limitedClientSecret(s.AZURE_CLIENT_SECRET as string),
    { authorityHost: s.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true, ...pipelineOptions({ caPem: caPem() }) },
  );
}

/** The limited principal's clients, built the way the worker builds its own. */
const limitedClients = () => connectAzure(labConnection(), limitedCredential()).clients;

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One ARM call over HTTPS with the lab client's token, for what the SDK does not show (status, headers). */
async function arm(method: string, url: string, body?: unknown): Promise<RawReply> {
  const endpoint = settings().AZURE_ARM_ENDPOINT as string;
  const { credential } = connectAzure(labConnection());
  const token = await credential.getToken(`${endpoint}/.default`);
  assert.ok(token, 'the lab credential gave no token');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(url, endpoint),
      {
        method,
        ca: caPem(),
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${token.token}`,
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const rejectsWith = (p: Promise<unknown>, status: number, code: string, message?: RegExp) =>
  assert.rejects(p, (e: { statusCode?: number; code?: string; message?: string }) => {
    assert.equal(e.statusCode, status, String(e.message));
    assert.equal(e.code, code);
    if (message) assert.match(String(e.message), message);
    return true;
  });

async function newIdentity(rg = LAB_RG) {
  const mi = await labClients()
    .msi(sub())
    .userAssignedIdentities.createOrUpdate(rg, unique('mi-f-'), { location: LOCATION });
  return { id: String(mi.id), principalId: String(mi.principalId) };
}

const lower = (ids: Iterable<string>) => [...ids].map((id) => id.toLowerCase()).sort();

describe('scale-set identity PATCH merges as in Azure', () => {
  async function scaleSet() {
    const c = await seedCluster({ extraScaleSetIdentity: true });
    const vmss = labClients().compute(c.subscriptionId).virtualMachineScaleSets;
    const identityIds = async () =>
      lower(Object.keys((await vmss.get(c.nodeResourceGroup, 'akswin1')).identity?.userAssignedIdentities ?? {}));
    const patch = (identity: object) =>
      vmss.beginUpdateAndWait(c.nodeResourceGroup, 'akswin1', { identity }, { updateIntervalInMs: 0 });
    const before = await identityIds();
    assert.equal(before.length, 2, 'the seed puts the kubelet and a monitoring identity on the Windows scale set');
    return { c, identityIds, patch, before };
  }

  it('keeps an identity left out of the map, and detaches one sent as null', async () => {
    const { identityIds, patch, before } = await scaleSet();
    const mi = await newIdentity();
    await patch({ type: 'UserAssigned', userAssignedIdentities: { [mi.id]: {} } });
    assert.deepEqual(await identityIds(), lower([...before, mi.id]), 'attaching one keeps the two already there');
    const monitoring = before.find((id) => id.endsWith('-monitoring')) as string;
    // The documented removal form: only the one to detach, as null; ids compare case-insensitively.
    await patch({ type: 'UserAssigned', userAssignedIdentities: { [monitoring.toUpperCase()]: null } });
    assert.deepEqual(await identityIds(), lower(before.filter((id) => id !== monitoring).concat(mi.id)));
  });

  it('refuses a UserAssigned type that would leave no user-assigned identity; None and SystemAssigned detach all', async () => {
    const { identityIds, patch, before, c } = await scaleSet();
    await rejectsWith(
      patch({ type: 'UserAssigned', userAssignedIdentities: Object.fromEntries(before.map((id) => [id, null])) }),
      400,
      'InvalidParameter',
      /userAssignedIdentities' must be set/,
    );
    assert.deepEqual(await identityIds(), before, 'a refused PATCH changes nothing');
    await patch({ type: 'SystemAssigned' });
    const vmss = await labClients()
      .compute(c.subscriptionId)
      .virtualMachineScaleSets.get(c.nodeResourceGroup, 'akswin1');
    assert.equal(vmss.identity?.type, 'SystemAssigned');
    assert.ok(vmss.identity?.principalId, 'the system-assigned identity has a principal');
    assert.deepEqual(await identityIds(), []);
    await patch({ type: 'None' });
    const none = await labClients()
      .compute(c.subscriptionId)
      .virtualMachineScaleSets.get(c.nodeResourceGroup, 'akswin1');
    assert.equal(none.identity, undefined);
  });
});

describe('role assignments down to one secret, honoured by the vault data plane', () => {
  /** An RBAC vault in its own resource group with secrets a and b, written by the lab client. */
  async function vaultWithTwoSecrets() {
    const rg = unique('rg-f-');
    await admin().seedCluster({ name: unique('aks-f-'), resourceGroup: rg });
    const clients = labClients();
    const me = await clients.caller();
    const vault = await clients.keyVault(sub()).vaults.createOrUpdate(
      rg,
      unique('kv-f-'),
      {
        location: LOCATION,
        properties: {
          tenantId: me.tenantId,
          sku: { family: 'A', name: 'standard' },
          enableRbacAuthorization: true,
          accessPolicies: [],
        },
      },
      { updateIntervalInMs: 0 },
    );
    const authz = clients.authorization(sub()).roleAssignments;
    await authz.create(String(vault.id), randomUUID(), {
      roleDefinitionId: roleId(ROLE.secretsOfficer),
      principalId: me.objectId,
      principalType: 'ServicePrincipal',
    });
    const uri = String(vault.properties.vaultUri);
    const writer = clients.secrets(uri);
    await writer.setSecret('a', 'value-a');
    await writer.setSecret('b', 'value-b');
    const reader = new SecretClient(uri, limitedCredential(), {
      ...pipelineOptions({ caPem: caPem() }),
      disableChallengeResourceVerification: true,
    });
    const grant = async (scope: string) => {
      const name = randomUUID();
      await authz.create(scope, name, {
        roleDefinitionId: roleId(ROLE.secretsUser),
        principalId: LAB_LIMITED_OBJECT_ID,
        principalType: 'ServicePrincipal',
      });
      return { scope, name };
    };
    const reads = async () => ({
      a: await reader.getSecret('a').then(
        (s) => s.value,
        (e: { code?: string }) => e.code,
      ),
      b: await reader.getSecret('b').then(
        (s) => s.value,
        (e: { code?: string }) => e.code,
      ),
    });
    return { rg, vaultId: String(vault.id), grant, reads, authz };
  }

  it('Key Vault Secrets User on secret a reads a, not b', async () => {
    const v = await vaultWithTwoSecrets();
    assert.deepEqual(await v.reads(), { a: 'Forbidden', b: 'Forbidden' }, 'no role yet: neither');
    const g = await v.grant(`${v.vaultId}/secrets/a`);
    assert.deepEqual(await v.reads(), { a: 'value-a', b: 'Forbidden' });
    const listed = [];
    for await (const a of v.authz.listForScope(g.scope, { filter: `assignedTo('${LAB_LIMITED_OBJECT_ID}')` })) {
      listed.push(String(a.scope));
    }
    assert.ok(listed.includes(g.scope), 'the assignment is listed at the secret scope');
  });

  it('the role at the vault or at its resource group covers every secret', async () => {
    for (const at of ['vault', 'resource group'] as const) {
      const v = await vaultWithTwoSecrets();
      await v.grant(at === 'vault' ? v.vaultId : `/subscriptions/${sub()}/resourceGroups/${v.rg}`);
      assert.deepEqual(await v.reads(), { a: 'value-a', b: 'value-b' }, `a role at the ${at}`);
    }
  });

  it('the role at the subscription covers every secret (and is removed after)', async () => {
    const v = await vaultWithTwoSecrets();
    const g = await v.grant(`/subscriptions/${sub()}`);
    try {
      assert.deepEqual(await v.reads(), { a: 'value-a', b: 'value-b' });
    } finally {
      await v.authz.delete(g.scope, g.name);
    }
    assert.deepEqual(await v.reads(), { a: 'Forbidden', b: 'Forbidden' }, 'gone with the assignment');
  });

  it('refuses a secret scope in a vault that does not exist', async () => {
    const scope = `/subscriptions/${sub()}/resourceGroups/${LAB_RG}/providers/Microsoft.KeyVault/vaults/${unique('kv-none-')}/secrets/a`;
    await rejectsWith(
      labClients()
        .authorization(sub())
        .roleAssignments.create(scope, randomUUID(), {
          roleDefinitionId: roleId(ROLE.secretsUser),
          principalId: LAB_LIMITED_OBJECT_ID,
        }),
      404,
      'ResourceNotFound',
    );
  });
});

describe('vault create: defaults and LRO style per api-version', () => {
  const body = (tenantId: string): VaultCreateOrUpdateParameters => ({
    location: LOCATION,
    properties: { tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [] },
  });

  it('at 2026-02-01 a vault created without enableRbacAuthorization is an RBAC vault; at 2025-05-01 it is not', async () => {
    const clients = labClients();
    const me = await clients.caller();
    // The SDK's default api-version.
    const latest = await clients
      .keyVault(sub())
      .vaults.createOrUpdate(LAB_RG, unique('kv-f-'), body(me.tenantId), { updateIntervalInMs: 0 });
    assert.equal(latest.properties.enableRbacAuthorization, true);
    const { credential } = connectAzure(labConnection());
    const endpoint = settings().AZURE_ARM_ENDPOINT as string;
    const older = new KeyVaultManagementClient(credential, sub(), {
      ...pipelineOptions({ caPem: caPem() }),
      endpoint,
      credentials: { scopes: [`${endpoint}/.default`] },
      apiVersion: '2025-05-01',
    });
    const old = await older.vaults.createOrUpdate(LAB_RG, unique('kv-f-'), body(me.tenantId), {
      updateIntervalInMs: 0,
    });
    assert.equal(old.properties.enableRbacAuthorization, false);
  });

  it('answers a create with 201 and Location; the Location answers 202 until the operation is done, then the vault', async () => {
    const me = await labClients().caller();
    const name = unique('kv-f-');
    const path = `/subscriptions/${sub()}/resourceGroups/${LAB_RG}/providers/Microsoft.KeyVault/vaults/${name}?api-version=2026-02-01`;
    await withOverride({ pathIncludes: name, op: 'PUT vaults', hold: true }, async (hold) => {
      const created = await arm('PUT', path, body(me.tenantId));
      assert.equal(created.status, 201);
      assert.equal(created.headers['azure-asyncoperation'], undefined, 'not the Azure-AsyncOperation style');
      assert.ok(created.headers['retry-after'] !== undefined);
      const location = String(created.headers.location);
      assert.match(location, /\/providers\/Microsoft\.KeyVault\/locations\/[^/]+\/operationResults\//);
      assert.equal(
        (created.body as { properties: { provisioningState: string } }).properties.provisioningState,
        'RegisteringDns',
      );
      const running = await arm('GET', location);
      assert.equal(running.status, 202, 'held: still running');
      assert.equal(running.headers.location, location);
      await hold.release();
      const done = await arm('GET', location);
      assert.equal(done.status, 200);
      const vault = done.body as { name: string; properties: { provisioningState: string } };
      assert.equal(vault.name, name);
      assert.equal(vault.properties.provisioningState, 'Succeeded');
    });
    const again = await arm('PUT', path, body(me.tenantId));
    assert.equal(again.status, 200, 'an update is synchronous: 200, no polling URL');
    assert.equal(again.headers.location, undefined);
  });
});

describe('ARM linked authorization on the identities a scale-set PATCH attaches', () => {
  it('403 LinkedAuthorizationFailed without assign/action on the identity; Managed Identity Operator lifts it', async () => {
    const c = await seedCluster();
    const mi = await newIdentity();
    const limited = limitedClients().compute(c.subscriptionId).virtualMachineScaleSets;
    const attach = {
      identity: { type: 'UserAssigned' as const, userAssignedIdentities: { [mi.id]: {} } },
    };
    const ids = async () =>
      lower(
        Object.keys(
          (await labClients().compute(c.subscriptionId).virtualMachineScaleSets.get(c.nodeResourceGroup, 'akswin1'))
            .identity?.userAssignedIdentities ?? {},
        ),
      );
    const before = await ids();
    await rejectsWith(
      limited.beginUpdateAndWait(c.nodeResourceGroup, 'akswin1', attach, { updateIntervalInMs: 0 }),
      403,
      'LinkedAuthorizationFailed',
      new RegExp(
        `with object id '${LAB_LIMITED_OBJECT_ID}' has permission to perform action 'Microsoft\\.Compute/virtualMachineScaleSets/write' on scope '.*akswin1'; however, it does not have permission to perform action 'Microsoft\\.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope\\(s\\) '${mi.id}' or the linked scope\\(s\\) are invalid\\.`,
      ),
    );
    assert.deepEqual(await ids(), before, 'the refused PATCH attached nothing');
    await labClients()
      .authorization(c.subscriptionId)
      .roleAssignments.create(mi.id, randomUUID(), {
        roleDefinitionId: roleId(ROLE.managedIdentityOperator),
        principalId: LAB_LIMITED_OBJECT_ID,
        principalType: 'ServicePrincipal',
      });
    await limited.beginUpdateAndWait(c.nodeResourceGroup, 'akswin1', attach, { updateIntervalInMs: 0 });
    assert.deepEqual(await ids(), lower([...before, mi.id]));
  });
});

describe('managed-cluster optimistic concurrency', () => {
  it('changes the eTag on every write, and refuses a stale If-Match or If-None-Match: * with 412', async () => {
    const c = await seedCluster();
    const aks = labClients().aks(c.subscriptionId).managedClusters;
    const first = await aks.get(c.resourceGroup, c.name);
    assert.ok(first.eTag, 'a managed cluster carries an eTag');
    first.tags = { step: 'one' };
    await aks.beginCreateOrUpdateAndWait(c.resourceGroup, c.name, first, {
      ifMatch: first.eTag,
      updateIntervalInMs: 0,
    });
    const second = await aks.get(c.resourceGroup, c.name);
    assert.notEqual(second.eTag, first.eTag, 'the write changed the eTag');
    // Another writer's view, taken before that write: its PUT must not land.
    const stale = { ...first, tags: { step: 'lost' } };
    await rejectsWith(
      aks.beginCreateOrUpdateAndWait(c.resourceGroup, c.name, stale, { ifMatch: first.eTag, updateIntervalInMs: 0 }),
      412,
      'PreconditionFailed',
    );
    await rejectsWith(
      aks.beginCreateOrUpdateAndWait(c.resourceGroup, c.name, second, { ifNoneMatch: '*', updateIntervalInMs: 0 }),
      412,
      'PreconditionFailed',
    );
    const after = await aks.get(c.resourceGroup, c.name);
    assert.deepEqual(after.tags, { step: 'one' }, 'neither refused PUT changed the cluster');
    assert.equal(after.eTag, second.eTag);
    // Without If-Match the write proceeds, as in Azure (last writer wins).
    await aks.beginCreateOrUpdateAndWait(c.resourceGroup, c.name, stale, { updateIntervalInMs: 0 });
    assert.deepEqual((await aks.get(c.resourceGroup, c.name)).tags, { step: 'lost' });
  });
});
