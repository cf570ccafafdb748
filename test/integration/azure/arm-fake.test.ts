/**
 * The lab ARM fake's own rules, seen through the real SDK clients: AKS's gMSA checks, the error bodies, token and
 * api-version checks, concurrent-operation conflicts, the vault data plane enforcing its access model; and the
 * test controls: faults and overrides added and removed by id, holds, and the fault modes for writes
 * (applied then the connection dropped; the long-running operation ending Failed).
 */
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ClientSecretCredential } from '@azure/identity';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pipelineOptions, type AzureClients } from '../../../activities/azure/clients.js';
import { connectAzure } from '../../../activities/azure/connect.js';
import { createKeyVaultActivities } from '../../../activities/azure/key-vault.js';
import {
  admin,
  azureLabSettings,
  failure,
  LAB_RG,
  labClients,
  labConnection,
  LOCATION,
  mark,
  requestsSince,
  seedCluster,
  unique,
  withFault,
  withOverride,
} from '../../support/azure-lab.js';
import { pollUntil, within } from '../../support/poll.js';

const rejectsWith = (p: Promise<unknown>, status: number, code: string, message?: RegExp) =>
  assert.rejects(p, (e: { statusCode?: number; code?: string; message?: string }) => {
    assert.equal(e.statusCode, status);
    assert.equal(e.code, code);
    if (message) assert.match(String(e.message), message);
    return true;
  });

describe('lab ARM fake', () => {
  it('serves the seeded world of DESIGN', async () => {
    const s = azureLabSettings();
    const clients = labClients();
    const mc = await clients.aks(s.AZURE_SUBSCRIPTION_ID as string).managedClusters.get('rg-gmsa-lab', 'aks-gmsa-lab');
    assert.equal(mc.nodeResourceGroup, 'MC_rg-gmsa-lab_aks-gmsa-lab_westeurope');
    assert.deepEqual(
      mc.agentPoolProfiles?.map((p) => [p.name, p.osType]),
      [
        ['nodepool1', 'Linux'],
        ['win1', 'Windows'],
      ],
    );
    assert.ok(mc.identityProfile?.kubeletidentity?.objectId);
  });

  it('enforces AKS gMSA rules: dnsServer with rootDomainName, and a managed identity', async () => {
    const c = await seedCluster();
    const aks = labClients().aks(c.subscriptionId).managedClusters;
    const mc = await aks.get(c.resourceGroup, c.name);
    mc.windowsProfile = {
      ...mc.windowsProfile,
      adminUsername: 'azureuser',
      gmsaProfile: { enabled: true, dnsServer: '10.0.0.4' },
    };
    await rejectsWith(
      aks.beginCreateOrUpdateAndWait(c.resourceGroup, c.name, mc),
      400,
      'InvalidParameter',
      /set together/,
    );
    const sp = await seedCluster({ managedIdentity: false });
    const spc = await aks.get(sp.resourceGroup, sp.name);
    spc.windowsProfile = { ...spc.windowsProfile, adminUsername: 'azureuser', gmsaProfile: { enabled: true } };
    await rejectsWith(
      aks.beginCreateOrUpdateAndWait(sp.resourceGroup, sp.name, spc),
      400,
      'BadRequest',
      /^Windows GMSA requires managed identity\.$/,
    );
  });

  it('answers 409 to a cluster PUT while another is running; a hold keeps it running, for that cluster only', async () => {
    const c = await seedCluster();
    const other = await seedCluster();
    const aks = labClients().aks(c.subscriptionId).managedClusters;
    await withOverride({ pathIncludes: c.name, hold: true }, async (held) => {
      const mc = await aks.get(c.resourceGroup, c.name);
      const first = await aks.beginCreateOrUpdate(c.resourceGroup, c.name, mc);
      await rejectsWith(aks.beginCreateOrUpdate(c.resourceGroup, c.name, mc), 409, 'OperationNotAllowed');
      // Another cluster's PUT is not held: it finishes while the first stays InProgress.
      await aks.beginCreateOrUpdateAndWait(
        other.resourceGroup,
        other.name,
        await aks.get(other.resourceGroup, other.name),
      );
      await first.poll();
      assert.equal(first.isDone(), false, 'still InProgress after polls: held');
      assert.equal((await aks.get(c.resourceGroup, c.name)).provisioningState, 'Updating');
      await held.release();
      await within(first.pollUntilDone(), 'the held PUT after its release', 10_000);
      assert.equal((await aks.get(c.resourceGroup, c.name)).provisioningState, 'Succeeded');
    });
  });

  it('refuses a scale-set identity that does not exist', async () => {
    const c = await seedCluster();
    const bogus = `/subscriptions/${c.subscriptionId}/resourceGroups/${LAB_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/none`;
    const vmss = labClients().compute(c.subscriptionId).virtualMachineScaleSets;
    await rejectsWith(
      vmss.beginUpdateAndWait(c.nodeResourceGroup, 'akswin1', {
        identity: { type: 'UserAssigned', userAssignedIdentities: { [bogus]: {} } },
      }),
      400,
      'FailedIdentityOperation',
    );
  });

  it('refuses api-versions the real clients do not send, and calls without a valid token', async () => {
    const c = await seedCluster();
    const s = azureLabSettings();
    const { credential } = connectAzure(labConnection());
    const caPem = readFileSync(s.AZURE_CA_FILE as string, 'utf8');
    const endpoint = s.AZURE_ARM_ENDPOINT as string;
    const old = new ContainerServiceClient(credential, c.subscriptionId, {
      endpoint,
      $host: endpoint,
      credentialScopes: [`${endpoint}/.default`],
      apiVersion: '2017-08-31',
      ...pipelineOptions({ caPem }),
    });
    await rejectsWith(old.managedClusters.get(c.resourceGroup, c.name), 400, 'NoRegisteredProviderFound');
    const wrong = new ClientSecretCredential(s.AZURE_TENANT_ID as string, s.AZURE_CLIENT_ID as string, 'wrong', {
      authorityHost: s.AZURE_AUTHORITY_HOST,
      disableInstanceDiscovery: true,
      ...pipelineOptions({ caPem }),
    });
    await assert.rejects(wrong.getToken(`${s.AZURE_ARM_ENDPOINT}/.default`), /AADSTS7000215/);
  });

  it('the vault data plane refuses a caller without a policy, and the activity fails at once', async () => {
    const clients = labClients();
    const sub = azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
    const name = unique('kv-f-');
    const me = await clients.caller();
    const vault = await clients.keyVault(sub).vaults.createOrUpdate(LAB_RG, name, {
      location: LOCATION,
      properties: {
        tenantId: me.tenantId,
        sku: { family: 'A', name: 'standard' },
        enableRbacAuthorization: false,
        accessPolicies: [],
      },
    });
    const f = await failure(
      createKeyVaultActivities(clients).storeUserSecret({
        vaultUri: String(vault.properties.vaultUri),
        secretName: 's',
        domainFqdn: 'lab.example.test',
        user: 'u1',
      }),
    );
    assert.equal(f.type, 'Forbidden');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /does not have secrets get permission/);
  });
});

/** The client saw the connection dropped: no HTTP status at all. */
const dropped = (p: Promise<unknown>) =>
  assert.rejects(p, (e: { statusCode?: number; code?: string; message?: string }) => {
    assert.equal(e.statusCode, undefined, `expected a dropped connection, got HTTP ${e.statusCode}`);
    assert.match(`${e.code} ${e.message}`, /ECONNRESET|socket hang up/i);
    return true;
  });

/** The result of a write, waited for to the end when it is a poller (some begin* calls poll once already). */
async function untilDone(p: Promise<unknown>) {
  const r = (await p) as { pollUntilDone?: () => Promise<unknown> } | undefined;
  return typeof r?.pollUntilDone === 'function' ? r.pollUntilDone() : r;
}

const sub = () => azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
const SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';

async function accessPolicyVault(clients: AzureClients, name: string, permissions: string[] = []) {
  const me = await clients.caller();
  return clients.keyVault(sub()).vaults.createOrUpdate(LAB_RG, name, {
    location: LOCATION,
    properties: {
      tenantId: me.tenantId,
      sku: { family: 'A', name: 'standard' },
      enableRbacAuthorization: false,
      accessPolicies: permissions.length
        ? [{ tenantId: me.tenantId, objectId: me.objectId, permissions: { secrets: permissions as never[] } }]
        : [],
    },
  });
}

const found = (p: Promise<unknown>) =>
  p.then(
    () => true,
    (e: { statusCode?: number }) => {
      if (e.statusCode === 404) return false;
      throw e;
    },
  );

/**
 * Every write the product makes, each against its own resources: `scope` (unique text in its path) keeps the fault
 * on this test's call, `act` sends the write, `applied` tells from the fake's state whether it took effect.
 */
interface Write {
  scope: string;
  act(c: AzureClients): Promise<unknown>;
  applied(c: AzureClients): Promise<boolean>;
}

const WRITES: Record<string, () => Promise<Write>> = {
  'PUT managedClusters': async () => {
    const c = await seedCluster();
    const aks = (x: AzureClients) => x.aks(c.subscriptionId).managedClusters;
    const mc = await aks(labClients()).get(c.resourceGroup, c.name);
    mc.windowsProfile = { ...mc.windowsProfile, adminUsername: 'azureuser', gmsaProfile: { enabled: true } };
    return {
      scope: c.name,
      act: (x) => aks(x).beginCreateOrUpdate(c.resourceGroup, c.name, mc),
      applied: async (x) => {
        const now = await aks(x).get(c.resourceGroup, c.name);
        return now.provisioningState === 'Succeeded' && now.windowsProfile?.gmsaProfile?.enabled === true;
      },
    };
  },
  'PATCH virtualMachineScaleSets': async () => {
    const c = await seedCluster();
    const clients = labClients();
    const mi = await clients.msi(c.subscriptionId).userAssignedIdentities.createOrUpdate(LAB_RG, unique('mi-w-'), {
      location: LOCATION,
    });
    const vmss = (x: AzureClients) => x.compute(c.subscriptionId).virtualMachineScaleSets;
    const before = await vmss(clients).get(c.nodeResourceGroup, 'akswin1');
    const ids = { ...before.identity?.userAssignedIdentities, [String(mi.id)]: {} };
    return {
      scope: c.nodeResourceGroup,
      act: (x) =>
        vmss(x).beginUpdate(c.nodeResourceGroup, 'akswin1', {
          identity: { type: 'UserAssigned', userAssignedIdentities: ids },
        }),
      applied: async (x) => {
        const now = await vmss(x).get(c.nodeResourceGroup, 'akswin1');
        const attached = Object.keys(now.identity?.userAssignedIdentities ?? {}).map((k) => k.toLowerCase());
        return now.provisioningState === 'Succeeded' && attached.includes(String(mi.id).toLowerCase());
      },
    };
  },
  'PUT userAssignedIdentities': async () => {
    const name = unique('mi-w-');
    const msi = (x: AzureClients) => x.msi(sub()).userAssignedIdentities;
    return {
      scope: name,
      act: (x) => msi(x).createOrUpdate(LAB_RG, name, { location: LOCATION }),
      applied: (x) => found(msi(x).get(LAB_RG, name)),
    };
  },
  'DELETE userAssignedIdentities': async () => {
    const name = unique('mi-w-');
    const msi = (x: AzureClients) => x.msi(sub()).userAssignedIdentities;
    await msi(labClients()).createOrUpdate(LAB_RG, name, { location: LOCATION });
    return {
      scope: name,
      act: (x) => msi(x).delete(LAB_RG, name),
      applied: async (x) => !(await found(msi(x).get(LAB_RG, name))),
    };
  },
  'PUT vaults': async () => {
    const name = unique('kv-w-');
    const vaults = (x: AzureClients) => x.keyVault(sub()).vaults;
    return {
      scope: name,
      act: async (x) => accessPolicyVault(x, name),
      applied: async (x) => {
        const v = await vaults(x)
          .get(LAB_RG, name)
          .catch((e: { statusCode?: number }) => (e.statusCode === 404 ? undefined : Promise.reject(e)));
        return v?.properties.provisioningState === 'Succeeded';
      },
    };
  },
  'PUT accessPolicies': async () => {
    const name = unique('kv-w-');
    const clients = labClients();
    const vault = await accessPolicyVault(clients, name);
    const me = await clients.caller();
    const vaults = (x: AzureClients) => x.keyVault(sub()).vaults;
    return {
      scope: name,
      act: (x) =>
        vaults(x).updateAccessPolicy(LAB_RG, name, 'add', {
          properties: {
            accessPolicies: [
              { tenantId: vault.properties.tenantId, objectId: me.objectId, permissions: { secrets: ['get'] } },
            ],
          },
        }),
      applied: async (x) =>
        ((await vaults(x).get(LAB_RG, name)).properties.accessPolicies ?? []).some((p) => p.objectId === me.objectId),
    };
  },
  'DELETE vaults': async () => {
    const name = unique('kv-w-');
    await accessPolicyVault(labClients(), name);
    const vaults = (x: AzureClients) => x.keyVault(sub()).vaults;
    return {
      scope: name,
      act: (x) => vaults(x).delete(LAB_RG, name),
      applied: async (x) =>
        !(await found(vaults(x).get(LAB_RG, name))) && (await found(vaults(x).getDeleted(name, LOCATION))),
    };
  },
  'PUT roleAssignments': async () => {
    const clients = labClients();
    const vault = await accessPolicyVault(clients, unique('kv-w-'));
    const me = await clients.caller();
    const name = randomUUID();
    const authz = (x: AzureClients) => x.authorization(sub()).roleAssignments;
    return {
      scope: name,
      act: (x) =>
        authz(x).create(String(vault.id), name, {
          roleDefinitionId: `/subscriptions/${sub()}/providers/Microsoft.Authorization/roleDefinitions/${SECRETS_USER}`,
          principalId: me.objectId,
          principalType: 'ServicePrincipal',
        }),
      applied: (x) => found(authz(x).get(String(vault.id), name)),
    };
  },
  'PUT secrets': async () => {
    const name = unique('kv-w-');
    const clients = labClients();
    const vault = await accessPolicyVault(clients, name, ['get', 'set']);
    const uri = String(vault.properties.vaultUri);
    const value = `lab.example.test\\${unique('u-')}:${randomUUID()}`;
    return {
      scope: name,
      act: (x) => x.secrets(uri).setSecret('s1', value),
      applied: async (x) =>
        (await x
          .secrets(uri)
          .getSecret('s1')
          .then((s) => s.value)
          .catch((e: { statusCode?: number }) => (e.statusCode === 404 ? undefined : Promise.reject(e)))) === value,
    };
  },
};

describe('fault modes for writes', () => {
  for (const [op, prepare] of Object.entries(WRITES)) {
    it(`appliedThenReset on ${op}: the change is made, yet the client sees the connection dropped`, async () => {
      const w = await prepare();
      const clients = labClients();
      assert.equal(await w.applied(clients), false, 'not applied before the write');
      const since = await mark();
      await withFault({ op, kind: 'appliedThenReset', count: 1, pathIncludes: w.scope }, () =>
        dropped(w.act(labClients({ maxRetries: 0 }))),
      );
      await pollUntil(`${op} applied`, () => w.applied(clients), { timeoutMs: 10_000 });
      // Without the data plane's bearer challenge (a 401 that the client answers with its token).
      const logged = (await requestsSince(since, w.scope)).filter((r) => r.op === op && r.status !== 401);
      assert.equal(logged.length, 1, 'one write, not retried');
      assert.equal(logged[0]?.fault, 'appliedThenReset');
      assert.equal(logged[0]?.status, 0, 'no reply reached the client');
      assert.ok((logged[0]?.applied ?? 0) >= 200 && (logged[0]?.applied ?? 0) < 300, `applied: ${logged[0]?.applied}`);
    });
  }

  it("lroFailed on PUT managedClusters: accepted, then Failed with ARM's error; the goal state kept, but Failed", async () => {
    const w = await WRITES['PUT managedClusters']!();
    const c = labClients();
    const since = await mark();
    await withFault({ op: 'PUT managedClusters', kind: 'lroFailed', count: 1, pathIncludes: w.scope }, async () => {
      await assert.rejects(
        untilDone(w.act(c)),
        /The long-running operation has failed\. InternalExecutionError\. An internal execution error occurred/,
      );
    });
    const cluster = await c.aks(sub()).managedClusters.get(LAB_RG, w.scope);
    assert.equal(cluster.provisioningState, 'Failed');
    assert.equal(cluster.windowsProfile?.gmsaProfile?.enabled, true, 'AKS keeps a failed update as its goal state');
    const put = (await requestsSince(since, w.scope)).filter((r) => r.op === 'PUT managedClusters');
    assert.deepEqual(
      put.map((r) => [r.status, r.fault]),
      [[200, 'lroFailed']],
      'the write itself was accepted',
    );
  });

  it('lroFailed on PATCH virtualMachineScaleSets ends with the given code; the identity not attached', async () => {
    const w = await WRITES['PATCH virtualMachineScaleSets']!();
    const c = labClients();
    const rule = {
      op: 'PATCH virtualMachineScaleSets',
      kind: 'lroFailed',
      count: 1,
      pathIncludes: w.scope,
      errorCode: 'VMExtensionProvisioningError',
      errorMessage: "VM has reported a failure when processing extension 'vmssCSE'.",
    } as const;
    await withFault(rule, async () => {
      await assert.rejects(
        untilDone(w.act(c)),
        /has failed\. VMExtensionProvisioningError\. VM has reported a failure/,
      );
    });
    assert.equal(await w.applied(c), false);
    const vmss = await c.compute(sub()).virtualMachineScaleSets.get(w.scope, 'akswin1');
    assert.equal(vmss.provisioningState, 'Failed');
  });

  it('lroFailed on PUT vaults (a create: a vault update is synchronous): Failed, the vault left Failed', async () => {
    const w = await WRITES['PUT vaults']!();
    const c = labClients();
    await withFault({ op: 'PUT vaults', kind: 'lroFailed', count: 1, pathIncludes: w.scope }, () =>
      // The vault's Location poll answers the operation's error itself: the SDK throws it as a RestError.
      assert.rejects(untilDone(w.act(c)), { code: 'InternalExecutionError' }),
    );
    // ARM keeps a resource whose create failed, in provisioningState Failed, until it is deleted or PUT again.
    const after = await c.keyVault(sub()).vaults.get(LAB_RG, w.scope);
    assert.equal(after.properties.provisioningState, 'Failed');
  });

  it('refuses lroFailed for an operation that is not long-running, so a test cannot inject a fault that never fires', async () => {
    await assert.rejects(
      admin().fault({ op: 'PUT roleAssignments', kind: 'lroFailed' }),
      /400 .*not a long-running operation/,
    );
  });
});

describe('test controls', () => {
  it('keeps every fault added in parallel, and removes each by its id alone', async () => {
    const tag = unique('par-');
    const rules = Array.from(
      { length: 16 },
      (_, i) => ({ op: 'GET none', kind: 'server', pathIncludes: `${tag}-${i}` }) as const,
    );
    const ids = await Promise.all(rules.map((r) => admin().fault(r)));
    const left = new Set(ids);
    try {
      const listed = async () => new Set((await admin().currentKnobs()).faults.map((f) => f.id));
      const all = await listed();
      assert.ok(
        ids.every((id) => all.has(id)),
        'no rule lost to a concurrent add',
      );
      const half = ids.slice(0, 8);
      await Promise.all(
        half.map((id) =>
          admin()
            .removeFault(id)
            .then(() => left.delete(id)),
        ),
      );
      const now = await listed();
      assert.ok(
        half.every((id) => !now.has(id)),
        'removed rules are gone',
      );
      assert.ok(
        ids.slice(8).every((id) => now.has(id)),
        'the others stay',
      );
      await assert.rejects(admin().removeFault(half[0] as string), /404/);
    } finally {
      await Promise.allSettled([...left].map((id) => admin().removeFault(id)));
    }
  });

  it('an override needs a scope, and is gone once removed', async () => {
    await assert.rejects(admin().override({ pathIncludes: '', hold: true }), /400 .*pathIncludes/);
    const name = unique('ov-');
    const id = await admin().withOverride({ pathIncludes: name, lroMs: 5 }, async (h) => {
      assert.ok((await admin().currentKnobs()).overrides.some((o) => o.id === h.id));
      return h.id;
    });
    assert.ok(!(await admin().currentKnobs()).overrides.some((o) => o.id === id));
    await assert.rejects(admin().removeOverride(id), /404/);
  });
});
