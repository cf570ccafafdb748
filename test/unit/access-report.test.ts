/**
 * The access report's judgement (domain/access-report.ts): which pools should read the secret and which do, which
 * principals read it and whether they are expected, in both Key Vault access models and both host identities.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accessReport, type AccessReportInput, type ReaderInput } from '../../domain/access-report.js';

const NRG =
  '/subscriptions/s/resourceGroups/MC_rg_aks_westeurope/providers/Microsoft.ManagedIdentity/userAssignedIdentities';
const HOST_ID = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi-gmsa';
const KUBELET_ID = `${NRG}/aks-agentpool`;
const MONITOR_ID = `${NRG}/aks-monitoring`;
const HOST = 'aaaaaaaa-0000-4000-8000-000000000001';
const KUBELET = 'aaaaaaaa-0000-4000-8000-000000000002';
const MONITOR = 'aaaaaaaa-0000-4000-8000-000000000003';
const WORKER = 'aaaaaaaa-0000-4000-8000-000000000004';
const STRANGER = 'aaaaaaaa-0000-4000-8000-000000000005';
const VAULT = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv';

const secretUser = (principalId: string, scope = `${VAULT}/secrets/s1`): ReaderInput => ({
  principalId,
  via: 'roleAssignment',
  scope,
  permissions: ['get'],
  readsValue: true,
  role: 'Key Vault Secrets User',
});

function input(o: Partial<AccessReportInput> = {}): AccessReportInput {
  const principals = { [HOST_ID]: HOST, [KUBELET_ID]: KUBELET, [MONITOR_ID]: MONITOR };
  return {
    bindingId: 'gmsa-b',
    hostIdentity: 'managedIdentity',
    hostPrincipalId: HOST,
    hostIdentityId: HOST_ID,
    windowsNodePools: ['win1'],
    kubeletIdentity: { objectId: KUBELET, resourceId: KUBELET_ID },
    pools: [
      {
        name: 'nodepool1',
        osType: 'Linux',
        osSku: 'Ubuntu',
        scaleSet: 'aks-nodepool1-1-vmss',
        identities: [KUBELET_ID],
        identityPrincipals: principals,
      },
      {
        name: 'win1',
        osType: 'Windows',
        osSku: 'Windows2022',
        scaleSet: 'akswin1',
        identities: [KUBELET_ID, MONITOR_ID, HOST_ID],
        identityPrincipals: principals,
      },
    ],
    accessModel: 'rbac',
    vaultId: VAULT,
    secretName: 's1',
    readers: [secretUser(HOST), { ...secretUser(WORKER, VAULT), role: 'Key Vault Secrets Officer' }],
    workerPrincipalId: WORKER,
    ...o,
  };
}

const pool = (r: ReturnType<typeof accessReport>, name: string) => r.pools.find((p) => p.name === name)!;

describe('accessReport', () => {
  test('as provisioned: the Windows pool reads through the host identity, the Linux pool is absent, no problem', () => {
    const r = accessReport(input());
    assert.equal(pool(r, 'win1').status, 'ok');
    assert.equal(pool(r, 'win1').namedByBinding, true);
    assert.deepEqual(
      pool(r, 'win1').identities.map((x) => [x.id.split('/').pop(), x.kind, x.canRead]),
      [
        ['aks-agentpool', 'kubelet', false],
        ['aks-monitoring', 'other', false],
        ['mi-gmsa', 'host', true],
      ],
    );
    assert.deepEqual([pool(r, 'nodepool1').status, pool(r, 'nodepool1').shouldRead], ['absent', false]);
    assert.deepEqual(
      r.principals.map((p) => [p.principalId, p.role, p.expected, p.pools]),
      [
        [HOST, 'host', true, ['win1']],
        [WORKER, 'worker', true, []],
      ],
    );
    assert.equal(r.principals[0]?.identity, HOST_ID);
    assert.deepEqual(r.problems, []);
    assert.equal(r.wholeVault, false);
  });

  test('the identity dropped from the scale set: the Windows pool is missing, the host still has its grant', () => {
    const i = input();
    i.pools[1]!.identities = [KUBELET_ID, MONITOR_ID];
    const r = accessReport(i);
    assert.equal(pool(r, 'win1').status, 'missing');
    assert.match(pool(r, 'win1').note, /not on akswin1: run repair/);
    assert.deepEqual(r.problems, [`pool win1: ${pool(r, 'win1').note}`]);
  });

  test('a Windows pool added since the provisioning should read too; not named by the binding', () => {
    const i = input();
    i.pools.push({
      name: 'win2',
      osType: 'Windows',
      scaleSet: 'akswin2',
      identities: [KUBELET_ID],
      identityPrincipals: {},
    });
    const r = accessReport(i);
    assert.deepEqual([pool(r, 'win2').status, pool(r, 'win2').namedByBinding], ['missing', false]);
  });

  test('no grant for the host: every Windows pool missing, and a problem naming the principal', () => {
    const r = accessReport(input({ readers: [secretUser(WORKER)] }));
    assert.equal(pool(r, 'win1').status, 'missing');
    assert.match(pool(r, 'win1').note, /may not read the secret/);
    assert.equal(r.problems[0], `the host principal ${HOST} may not read the secret`);
  });

  test('the kubelet identity reading (in managedIdentity mode) makes the Linux pool unexpected and names it', () => {
    const r = accessReport(input({ readers: [secretUser(HOST), secretUser(KUBELET, VAULT)] }));
    assert.equal(pool(r, 'nodepool1').status, 'unexpected');
    assert.match(pool(r, 'nodepool1').note, /aks-agentpool on it may read/);
    const kubelet = r.principals.find((p) => p.principalId === KUBELET)!;
    assert.deepEqual([kubelet.role, kubelet.expected, kubelet.pools], ['unexpected', false, ['nodepool1', 'win1']]);
    assert.ok(
      r.problems.some((p) => p.startsWith('identity aks-agentpool may read the secret (Key Vault Secrets User)')),
    );
  });

  test('a stranger with read is unexpected; grants that do not read the value are not readers', () => {
    const reader: ReaderInput = {
      ...secretUser(MONITOR, VAULT),
      role: 'Key Vault Reader',
      permissions: ['list'],
      readsValue: false,
    };
    const r = accessReport(input({ readers: [secretUser(HOST), secretUser(STRANGER), reader] }));
    assert.deepEqual(
      r.principals.filter((p) => !p.expected).map((p) => p.principalId),
      [STRANGER],
    );
    assert.ok(!r.principals.some((p) => p.principalId === MONITOR), 'metadata-only is no read');
    assert.equal(pool(r, 'win1').status, 'ok');
  });

  test('an access-policy vault: the grant covers the whole vault, and principal ids compare case-insensitively', () => {
    const r = accessReport(
      input({
        accessModel: 'accessPolicy',
        hostPrincipalId: HOST.toUpperCase(),
        readers: [{ principalId: HOST, via: 'accessPolicy', scope: VAULT, permissions: ['get'], readsValue: true }],
      }),
    );
    assert.equal(r.wholeVault, true);
    assert.equal(pool(r, 'win1').status, 'ok');
    assert.deepEqual(r.principals[0]?.grants, [{ via: 'accessPolicy', scope: VAULT, permissions: ['get'] }]);
  });

  test('hostIdentity kubeletIdentity: the kubelet is the host; it is on every pool, so Linux pools read too', () => {
    const i = input({ hostIdentity: 'kubeletIdentity', hostPrincipalId: KUBELET, hostIdentityId: undefined });
    i.readers = [secretUser(KUBELET)];
    i.pools[1]!.identities = [KUBELET_ID];
    const r = accessReport(i);
    assert.equal(pool(r, 'win1').status, 'ok');
    assert.equal(pool(r, 'win1').identities[0]?.kind, 'host');
    assert.equal(pool(r, 'nodepool1').status, 'unexpected');
    assert.equal(r.principals[0]?.role, 'host');
  });

  test('a pool without a scale set found is missing, saying so', () => {
    const i = input();
    i.pools[1] = { name: 'win1', osType: 'Windows', identities: [], identityPrincipals: {} };
    const r = accessReport(i);
    assert.equal(pool(r, 'win1').status, 'missing');
    assert.equal(pool(r, 'win1').note, 'no scale set found for the pool');
  });
});
