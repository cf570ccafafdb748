/**
 * Long-running operations that end Failed (the fake's `lroFailed` fault: the write is accepted, its operation ends
 * `{status: 'Failed', error: {code, message}}`, nothing applied), for each write the product waits on: the
 * managed-cluster PUT, the scale-set PATCH and the vault PUT. The activity's failure carries Azure's code and
 * message, is fatal when the code says the request itself is refused and transient when it says "try again", and
 * a rerun once the cause is gone converges.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAksActivities } from '../../../activities/azure/aks.js';
import { azureFailure, lroFailureClass, type AzureFailureDetails } from '../../../activities/azure/errors.js';
import { createKeyVaultAccessActivities } from '../../../activities/azure/key-vault-access.js';
import { createKeyVaultActivities } from '../../../activities/azure/key-vault.js';
import { createManagedIdentityActivities } from '../../../activities/azure/managed-identity.js';
import {
  admin,
  azureLabSettings,
  failure,
  LAB_RG,
  labClients,
  LOCATION,
  seedCluster,
  unique,
} from '../../support/azure-lab.js';

const FQDN = 'lab.example.test';

const azureCode = (f: { details?: unknown[] | null }) => (f.details?.[0] as AzureFailureDetails | undefined)?.azureCode;

describe('lroFailureClass (which Failed operations a retry can fix)', () => {
  it('retries what Azure says to retry, and fails at once on what it decided about the request', () => {
    for (const code of [
      'OperationPreempted',
      'InternalOperationError',
      'InternalExecutionError',
      'InternalServerError',
      'RetryableError',
      'ServiceUnavailable',
      'AnotherOperationInProgress',
    ]) {
      assert.equal(lroFailureClass(code), 'Transient', code);
    }
    assert.equal(lroFailureClass(undefined), 'Transient', 'no code: nothing says a retry is useless');
    assert.equal(lroFailureClass('InvalidParameter'), 'InvalidInput');
    assert.equal(lroFailureClass('BadRequest'), 'InvalidInput');
    assert.equal(lroFailureClass('LinkedAuthorizationFailed'), 'Forbidden');
    assert.equal(lroFailureClass('AuthorizationFailed'), 'Forbidden');
    assert.equal(lroFailureClass('QuotaExceeded'), 'PreconditionFailed');
    assert.equal(
      lroFailureClass(
        'OperationNotAllowed',
        'Operation could not be completed as it results in exceeding approved Total Regional Cores quota.',
      ),
      'PreconditionFailed',
      "Compute's quota refusal",
    );
    assert.equal(lroFailureClass('SkuNotAvailable'), 'PreconditionFailed');
  });

  it("reads Azure's code and message from what the SDK's poller throws", () => {
    // @azure/core-lro's text for a Failed operation (processOperationStatus): the only place the code survives.
    const f = azureFailure(
      new Error('The long-running operation has failed. InvalidParameter. The value of gmsaProfile is not valid.'),
      'enable Windows gMSA on cluster rg/c',
    );
    assert.equal(f.type, 'InvalidInput');
    assert.equal(f.nonRetryable, true);
    assert.equal(azureCode(f), 'InvalidParameter');
    assert.match(f.message, /ended Failed: InvalidParameter: The value of gmsaProfile is not valid\./);
  });
});

describe('a managed-cluster update that ends Failed', () => {
  it('with InvalidParameter fails at once with its message, and gMSA stays off', async () => {
    const c = await seedCluster();
    const clients = labClients();
    const message = `The value of parameter windowsProfile.gmsaProfile.dnsServer is invalid (${unique('t-')}).`;
    const f = await admin().withFault(
      {
        op: 'PUT managedClusters',
        kind: 'lroFailed',
        count: 1,
        pathIncludes: c.name,
        errorCode: 'InvalidParameter',
        errorMessage: message,
      },
      () =>
        failure(
          createAksActivities(clients).confirmAksGmsa({
            cluster: c,
            domainFqdn: FQDN,
            dnsServer: '10.0.0.4',
            enable: true,
          }),
        ),
    );
    assert.equal(f.type, 'InvalidInput');
    assert.equal(f.nonRetryable, true);
    assert.equal(azureCode(f), 'InvalidParameter');
    assert.ok(f.message.includes(message), `Azure's message kept: ${f.message}`);
    const after = await clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name);
    assert.equal(after.windowsProfile?.gmsaProfile?.enabled, true, 'the goal state stays, Failed');
    assert.equal(after.provisioningState, 'Failed');
  });

  it('with an internal error is transient, and a rerun enables gMSA', async () => {
    const c = await seedCluster();
    const clients = labClients();
    const { confirmAksGmsa } = createAksActivities(clients);
    const input = { cluster: c, domainFqdn: FQDN, dnsServer: '10.0.0.4', enable: true };
    const f = await admin().withFault(
      { op: 'PUT managedClusters', kind: 'lroFailed', count: 1, pathIncludes: c.name },
      () => failure(confirmAksGmsa(input)),
    );
    assert.equal(f.type, 'Transient');
    assert.equal(f.nonRetryable, false);
    assert.equal(azureCode(f), 'InternalExecutionError');
    assert.match(f.message, /ended Failed: InternalExecutionError: /);
    const r = await confirmAksGmsa(input);
    assert.equal(r.enabledByThisRun, true);
    const after = await clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name);
    assert.deepEqual(after.windowsProfile?.gmsaProfile, { enabled: true, dnsServer: '10.0.0.4', rootDomainName: FQDN });
    assert.equal(after.provisioningState, 'Succeeded');
  });
});

/** This file's binding: what it creates carries its marks. */
const owner = { binding: unique('gmsa-lro-t-'), adopt: [] };

/** A cluster, an identity and an access-policy vault: what the grant step gets. */
async function grantWorld() {
  const clients = labClients();
  const cluster = await seedCluster();
  const aks = await createAksActivities(clients).confirmAksGmsa({ cluster, domainFqdn: FQDN, enable: true });
  const ref = { subscriptionId: cluster.subscriptionId, resourceGroup: LAB_RG, location: LOCATION, owner };
  const mi = await createManagedIdentityActivities(clients).ensureManagedIdentity({ ...ref, name: unique('mi-l-') });
  const vaultName = unique('kv-l-');
  const vault = await createKeyVaultActivities(clients).ensureKeyVault({
    ...ref,
    name: vaultName,
    accessMode: 'accessPolicy',
  });
  const input = {
    cluster,
    nodeResourceGroup: aks.nodeResourceGroup,
    vault: { ...ref, name: vaultName, id: vault.id },
    hostIdentity: 'managedIdentity' as const,
    managedIdentity: { id: mi.id, principalId: mi.principalId },
    accessMode: 'accessPolicy' as const,
    owner,
  };
  const attached = async () => {
    const vmss = await clients
      .compute(cluster.subscriptionId)
      .virtualMachineScaleSets.get(aks.nodeResourceGroup, 'akswin1');
    return Object.keys(vmss.identity?.userAssignedIdentities ?? {}).some(
      (id) => id.toLowerCase() === mi.id.toLowerCase(),
    );
  };
  return { clients, cluster, mi, input, attached };
}

describe('a scale-set PATCH that ends Failed', () => {
  it('with FailedIdentityOperation fails at once with its message, and attaches nothing', async () => {
    const { clients, cluster, input, attached } = await grantWorld();
    const f = await admin().withFault(
      {
        op: 'PATCH virtualMachineScaleSets',
        kind: 'lroFailed',
        count: 1,
        pathIncludes: cluster.name,
        errorCode: 'FailedIdentityOperation',
        errorMessage: 'Identity operation for resource failed with error: the identity was not found.',
      },
      () => failure(createKeyVaultAccessActivities(clients).grantKeyVaultAccess(input)),
    );
    assert.equal(f.nonRetryable, true);
    assert.equal(f.type, 'InvalidInput');
    assert.equal(azureCode(f), 'FailedIdentityOperation');
    assert.match(f.message, /akswin1: the operation ended Failed: FailedIdentityOperation: Identity operation/);
    assert.equal(await attached(), false, 'nothing applied');
  });

  it('with OperationPreempted is transient, and a rerun attaches the identity and grants', async () => {
    const { clients, cluster, mi, input, attached } = await grantWorld();
    const { grantKeyVaultAccess } = createKeyVaultAccessActivities(clients);
    const f = await admin().withFault(
      {
        op: 'PATCH virtualMachineScaleSets',
        kind: 'lroFailed',
        count: 1,
        pathIncludes: cluster.name,
        errorCode: 'OperationPreempted',
        errorMessage: 'The operation was preempted by a more recent operation.',
      },
      () => failure(grantKeyVaultAccess(input)),
    );
    assert.equal(f.type, 'Transient');
    assert.equal(azureCode(f), 'OperationPreempted');
    assert.equal(await attached(), false);
    const r = await grantKeyVaultAccess(input);
    assert.deepEqual(r.scaleSetsUpdated, ['akswin1']);
    assert.equal(await attached(), true);
    const vault = await clients.keyVault(cluster.subscriptionId).vaults.get(LAB_RG, input.vault.name);
    assert.equal(vault.properties.accessPolicies?.filter((p) => p.objectId === mi.principalId).length, 1);
  });
});

describe('a vault create that ends Failed', () => {
  const ref = () => ({
    subscriptionId: azureLabSettings().AZURE_SUBSCRIPTION_ID as string,
    resourceGroup: LAB_RG,
    location: LOCATION,
    owner,
  });

  it('with a quota refusal fails at once with its message', async () => {
    const name = unique('kv-q-');
    const f = await admin().withFault(
      {
        op: 'PUT vaults',
        kind: 'lroFailed',
        count: 1,
        pathIncludes: name,
        errorCode: 'VaultQuotaExceeded',
        errorMessage: 'The subscription has reached its quota of vaults in this region.',
      },
      () =>
        failure(createKeyVaultActivities(labClients()).ensureKeyVault({ ...ref(), name, accessMode: 'accessPolicy' })),
    );
    assert.equal(f.nonRetryable, true);
    assert.equal(f.type, 'PreconditionFailed');
    assert.match(f.message, /VaultQuotaExceeded/);
    assert.match(f.message, /reached its quota of vaults/);
  });

  it('with an internal error is transient, and a rerun leaves a working vault with one worker policy', async () => {
    const name = unique('kv-i-');
    const clients = labClients();
    const { ensureKeyVault, storeUserSecret } = createKeyVaultActivities(clients);
    const input = { ...ref(), name, accessMode: 'accessPolicy' as const };
    const f = await admin().withFault({ op: 'PUT vaults', kind: 'lroFailed', count: 1, pathIncludes: name }, () =>
      failure(ensureKeyVault(input)),
    );
    assert.equal(f.type, 'Transient');
    assert.equal(f.nonRetryable, false);
    assert.match(f.message, /InternalExecutionError/);
    const r = await ensureKeyVault(input);
    const vault = await clients.keyVault(input.subscriptionId).vaults.get(LAB_RG, name);
    assert.equal(vault.properties.provisioningState, 'Succeeded');
    const caller = await clients.caller();
    assert.equal(vault.properties.accessPolicies?.filter((p) => p.objectId === caller.objectId).length, 1);
    const secret = await storeUserSecret({
      vaultUri: r.vaultUri,
      secretName: unique('s-'),
      domainFqdn: FQDN,
      user: unique('u-'),
      owner,
    });
    assert.equal(secret.created, true, 'the worker can write to it');
  });
});
