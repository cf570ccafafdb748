/**
 * deprovisionGmsa's logic on the real Temporal dev server, with activity doubles over a small world of what the
 * binding made (each removal takes its object out, and says "not there" when it is gone): the order of removals
 * (newest first), every removal acting for the binding, the identity detached through the scale-set coordinator,
 * the vault purged, gMSA on the cluster turned off only when asked and no other spec is left, a rerun that changes
 * nothing, and a provisioning that failed half way removed by the names of its request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ErrorType, fatal } from '../../contract/errors.js';
import type { ClusterFacts } from '../../contract/inspection.js';
import type { BindingRecord, DeprovisionInput } from '../../contract/operations.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { activityDoubles, doubleResult, type CallRecord, type Overrides } from '../../lab/activity-doubles.js';
import type { DeprovisionOutputs } from '../../workflows/deprovision.js';
import { operationProgressQuery } from '../../workflows/definitions.js';
import { uniqueRequest } from '../support/requests.js';
import { devServerEnv, withWorker } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

const REMOVALS = [
  'deleteOperationSchedules',
  'removeCredentialSpec',
  'removeGmsa',
  'removeDomainUser',
  'revokeKeyVaultAccess',
  'deleteUserSecret',
  'queueScaleSetChange',
  'deleteKeyVault',
  'deleteManagedIdentity',
  'listCredentialSpecs',
  'disableClusterGmsa',
];

const identityIdOf = (r: ProvisionRequest) =>
  `/subscriptions/${r.cluster.subscriptionId}/resourceGroups/${r.cluster.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${r.azure.managedIdentity.name}`;

/**
 * What a completed provisioning of `r` left, as a set of names the doubles remove from; `status` other than
 * COMPLETED gives a binding without outputs (a provisioning that failed half way).
 */
function world(r: ProvisionRequest, bindingId: string, o: { status?: string; otherSpecs?: string[] } = {}) {
  const identityId = identityIdOf(r);
  const there = new Set([
    'schedules',
    'spec',
    'gmsa',
    'user',
    'grant',
    'secret',
    'vault',
    'identity',
    ...r.cluster.windowsNodePools.map((p) => `on:${p}`),
  ]);
  const facts = (): ClusterFacts => {
    const c = doubleResult('confirmAksGmsa', { cluster: r.cluster, domainFqdn: r.domain.fqdn, enable: true });
    return {
      clusterId: c.clusterId,
      nodeResourceGroup: c.nodeResourceGroup,
      gmsaEnabled: true,
      provisioningState: 'Succeeded',
      kubeletIdentity: c.kubeletIdentity,
      pools: [
        { name: 'nodepool1', osType: 'Linux', identities: [], identityPrincipals: {} },
        ...r.cluster.windowsNodePools.map((p) => ({
          name: p,
          osType: 'Windows' as const,
          osSku: 'Windows2022',
          scaleSet: `aks-${p}-12345678-vmss`,
          // The cluster's own identity stays on every scale set; ours while it is attached.
          identities: [c.kubeletIdentity!.resourceId, ...(there.has(`on:${p}`) ? [identityId] : [])],
          identityPrincipals: {},
        })),
      ],
    };
  };
  const take = (what: string) => there.delete(what);
  const completed = (o.status ?? 'COMPLETED') === 'COMPLETED';
  const binding = (): BindingRecord => ({
    bindingId,
    status: o.status ?? 'COMPLETED',
    runId: 'run-1',
    request: r,
    ...(completed
      ? {
          outputs: {
            clusterId: facts().clusterId,
            managedIdentityId: identityId,
            keyVaultId: `/subscriptions/${r.cluster.subscriptionId}/resourceGroups/${r.cluster.resourceGroup}/providers/Microsoft.KeyVault/vaults/${r.azure.keyVault.name}`,
            secretUri: `https://${r.azure.keyVault.name}.vault.example.test/secrets/${r.azure.keyVault.secretName}`,
            domainUserDn: `CN=${r.gmsa.standardUser},CN=Users,DC=contoso,DC=com`,
            gmsaDn: `CN=${r.gmsa.name},CN=Managed Service Accounts,DC=contoso,DC=com`,
            credentialSpecName: r.gmsa.credentialSpecName,
            hostPrincipalId: 'principal-of-the-identity',
            kdsRootKeyId: 'kds-key-1',
          },
        }
      : {}),
  });
  const overrides: Overrides = {
    readBinding: async () => binding(),
    inspectCluster: async () => facts(),
    deleteOperationSchedules: async (i) => ({ deleted: take('schedules') ? [`${i.bindingId}.repair`] : [] }),
    removeCredentialSpec: async (i) => ({
      removed: take('spec') ? [`GMSACredentialSpec/${i.specName}`] : [],
      kept: [],
    }),
    removeGmsa: async () => ({ removed: take('gmsa') }),
    removeDomainUser: async () => ({ removed: take('user') }),
    revokeKeyVaultAccess: async (i) => ({ revoked: take('grant') ? [`${i.principalId} on ${i.vault.name}`] : [] }),
    deleteUserSecret: async () => ({ removed: take('secret') }),
    listSecretReaders: async (i) => {
      if (!there.has('vault')) throw fatal(ErrorType.NotFound, `get key vault ${i.vault.name}: 404 ResourceNotFound`);
      return { accessModel: 'accessPolicy', vaultId: i.vault.name, readers: [], workerPrincipalId: 'worker' };
    },
    applyScaleSetChanges: async (i) => {
      const out = doubleResult('applyScaleSetChanges', i);
      const changed = take(`on:${i.target.pool}`);
      return { ...out, outcomes: out.outcomes.map((x) => ({ ...x, changed })) };
    },
    deleteKeyVault: async (i) => ({ deleted: take('vault'), purged: i.purge === true }),
    deleteManagedIdentity: async () => ({ deleted: take('identity') }),
    listCredentialSpecs: async () => ({
      specs: [
        ...(there.has('spec') ? [{ name: r.gmsa.credentialSpecName, binding: bindingId, ours: true }] : []),
        ...(o.otherSpecs ?? []).map((name) => ({ name, ours: false })),
      ],
    }),
  };
  return { there, overrides };
}

async function deprovision(overrides: Overrides, input: DeprovisionInput) {
  const { activities, calls } = activityDoubles(overrides);
  return withWorker(env, activities, async (taskQueue) => {
    const handle = await env.client.workflow.start('deprovisionGmsa', {
      taskQueue,
      workflowId: `${input.bindingId}.deprovision`,
      args: [input],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    const outputs = (await handle.result()) as DeprovisionOutputs;
    return { outputs, calls, progress: await handle.query(operationProgressQuery) };
  });
}

const names = (calls: CallRecord[]) => calls.map((c) => c.name).filter((n) => REMOVALS.includes(n));
const inputOf = (calls: CallRecord[], name: string) =>
  calls.find((c) => c.name === name)?.input as Record<string, unknown>;
let seq = 0;
const bindingIdOf = (r: ProvisionRequest) =>
  `gmsa-aks-${r.gmsa.credentialSpecName}-${(seq++).toString(16).padStart(12, '0')}`;

describe('deprovisionGmsa', () => {
  test('removes newest first, each for the binding, detaches through the coordinator, purges the vault', async () => {
    const r = uniqueRequest('dp');
    const bindingId = bindingIdOf(r);
    const w = world(r, bindingId);
    const { outputs, calls, progress } = await deprovision(w.overrides, { bindingId, disableGmsa: true });

    assert.deepEqual(names(calls), REMOVALS, 'newest first, gMSA on the cluster last');
    assert.deepEqual(inputOf(calls, 'readBinding'), { bindingId, requireSettled: true });
    for (const c of calls.filter((x) => REMOVALS.includes(x.name) && x.name !== 'queueScaleSetChange')) {
      const owner = (c.input as { owner?: { binding: string } }).owner;
      if (owner) assert.equal(owner.binding, bindingId, `${c.name} acts for the binding, not the operation`);
    }
    const queued = inputOf(calls, 'queueScaleSetChange') as {
      change: { op: string; identityId: string; owner: { binding: string } };
    };
    assert.equal(queued.change.op, 'detach');
    assert.equal(queued.change.identityId, identityIdOf(r));
    assert.equal(queued.change.owner.binding, bindingId);
    assert.equal(inputOf(calls, 'deleteKeyVault').purge, true);
    // The vault's URI is the one the secret URI recorded, not a guess from its name.
    assert.equal(inputOf(calls, 'deleteUserSecret').vaultUri, `https://${r.azure.keyVault.name}.vault.example.test/`);
    assert.equal(
      (inputOf(calls, 'revokeKeyVaultAccess') as { principalId: string }).principalId,
      'principal-of-the-identity',
    );
    assert.ok(!calls.some((c) => /kds/i.test(c.name)), 'never the KDS root key');

    assert.equal(w.there.size, 0, `everything the binding made is gone: ${[...w.there].join(', ')}`);
    assert.ok(outputs.removed.includes(`gMSA on cluster ${r.cluster.name}`));
    assert.ok(outputs.removed.includes(`key vault ${r.azure.keyVault.name} (purged)`));
    assert.ok(outputs.removed.includes(`identity on scale set aks-${r.cluster.windowsNodePools[0]}-12345678-vmss`));
    assert.ok(
      progress.steps.every((s) => s.status === 'succeeded'),
      JSON.stringify(progress.steps.map((s) => [s.name, s.status])),
    );
  });

  test('another credential spec left on the cluster: gMSA stays on, the step skipped with the reason', async () => {
    const r = uniqueRequest('dp');
    const bindingId = bindingIdOf(r);
    const w = world(r, bindingId, { otherSpecs: ['someone-elses-spec'] });
    const { outputs, calls, progress } = await deprovision(w.overrides, { bindingId, disableGmsa: true });
    assert.ok(!calls.some((c) => c.name === 'disableClusterGmsa'));
    const step = progress.steps.find((s) => s.name === 'disableClusterGmsa')!;
    assert.equal(step.status, 'skipped');
    assert.match(step.summary ?? '', /someone-elses-spec/);
    assert.ok(outputs.skipped.some((s) => /disableClusterGmsa: .*someone-elses-spec/.test(s)));
    assert.ok(!outputs.removed.some((x) => /^gMSA on cluster/.test(x)));

    // Not asked: not even listed.
    const again = world(uniqueRequest('dp'), bindingIdOf(r));
    const plain = await deprovision(again.overrides, { bindingId: bindingIdOf(r) });
    assert.ok(!plain.calls.some((c) => c.name === 'listCredentialSpecs' || c.name === 'disableClusterGmsa'));
    assert.equal(plain.progress.steps.find((s) => s.name === 'disableClusterGmsa')!.status, 'skipped');
  });

  test('a rerun changes nothing: every removal finds its object gone, and no scale set is written', async () => {
    const r = uniqueRequest('dp');
    const bindingId = bindingIdOf(r);
    const w = world(r, bindingId);
    await deprovision(w.overrides, { bindingId });
    const rerun = await deprovision(w.overrides, { bindingId });
    assert.deepEqual(rerun.outputs.removed, []);
    assert.deepEqual(rerun.outputs.kept, []);
    assert.ok(!rerun.calls.some((c) => c.name === 'queueScaleSetChange' || c.name === 'applyScaleSetChanges'));
    assert.equal(rerun.progress.steps.find((s) => s.name === 'detachIdentity')!.status, 'skipped');
    // The vault is gone: nothing of it is asked for (its data plane would not answer).
    for (const name of ['revokeKeyVaultAccess', 'deleteUserSecret']) {
      const st = rerun.progress.steps.find((s) => s.name === name)!;
      assert.equal(st.status, 'skipped', name);
      assert.match(st.summary ?? '', /the vault is gone/);
      assert.ok(!rerun.calls.some((c) => c.name === name));
    }
  });

  test('a provisioning that failed half way is removed by the names of its request', async () => {
    const r = uniqueRequest('dp');
    const bindingId = bindingIdOf(r);
    const w = world(r, bindingId, { status: 'FAILED' });
    const { outputs, calls, progress } = await deprovision(w.overrides, { bindingId });
    assert.equal(inputOf(calls, 'deleteUserSecret').vaultUri, `https://${r.azure.keyVault.name}.vault.azure.net/`);
    assert.equal(
      (inputOf(calls, 'queueScaleSetChange') as { change: { identityId: string } }).change.identityId,
      identityIdOf(r),
    );
    // No principal recorded: nothing to revoke by; the vault's own deletion takes its access policies.
    assert.equal(progress.steps.find((s) => s.name === 'revokeKeyVaultAccess')!.status, 'skipped');
    assert.ok(outputs.removed.includes(`managed identity ${r.azure.managedIdentity.name}`));
  });

  test('a kubelet-identity binding: the cluster identity is neither detached nor deleted, its read is revoked', async () => {
    const r = uniqueRequest('dp');
    r.options.hostIdentity = 'kubeletIdentity';
    const bindingId = bindingIdOf(r);
    const w = world(r, bindingId, { status: 'FAILED' });
    const { calls, progress } = await deprovision(w.overrides, { bindingId });
    assert.ok(!calls.some((c) => c.name === 'queueScaleSetChange' || c.name === 'deleteManagedIdentity'));
    const kubelet = doubleResult('confirmAksGmsa', {
      cluster: r.cluster,
      domainFqdn: '',
      enable: true,
    }).kubeletIdentity!;
    assert.equal((inputOf(calls, 'revokeKeyVaultAccess') as { principalId: string }).principalId, kubelet.objectId);
    assert.equal(progress.steps.find((s) => s.name === 'deleteManagedIdentity')!.status, 'skipped');
  });
});
