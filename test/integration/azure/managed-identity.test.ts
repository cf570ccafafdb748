/** ensureManagedIdentity and deleteManagedIdentity with the real @azure/arm-msi client against the lab ARM fake. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createManagedIdentityActivities } from '../../../activities/azure/managed-identity.js';
import {
  azureLabSettings,
  failure,
  LAB_RG,
  labClients,
  LOCATION,
  mark,
  requestsSince,
  unique,
} from '../../support/azure-lab.js';

/** This file's binding: what it creates carries its marks. */
const owner = { binding: unique('gmsa-mi-t-'), adopt: [] };

describe('ensureManagedIdentity', () => {
  it('creates the identity once; a rerun returns the same one and writes nothing', async () => {
    const sub = azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
    const ref = { subscriptionId: sub, resourceGroup: LAB_RG, name: unique('mi-t-'), location: LOCATION, owner };
    const { ensureManagedIdentity } = createManagedIdentityActivities(labClients());
    const since = await mark();
    const first = await ensureManagedIdentity(ref);
    assert.equal(first.created, true);
    assert.match(
      first.id,
      new RegExp(`/resourceGroups/${LAB_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${ref.name}$`),
    );
    assert.match(first.principalId, /^[0-9a-f-]{36}$/);
    assert.notEqual(first.principalId, first.clientId);

    const second = await ensureManagedIdentity(ref);
    assert.deepEqual(second, { ...first, created: false });
    const puts = (await requestsSince(since, ref.name)).filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 1);
  });

  it('fails as NotFound when the resource group does not exist', async () => {
    const sub = azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
    const f = await failure(
      createManagedIdentityActivities(labClients()).ensureManagedIdentity({
        subscriptionId: sub,
        resourceGroup: unique('rg-missing-'),
        name: unique('mi-t-'),
        location: LOCATION,
        owner,
      }),
    );
    assert.equal(f.type, 'NotFound');
    assert.match(f.message, /ResourceGroupNotFound/);
  });

  it('deleteManagedIdentity removes it, and says so only once', async () => {
    const sub = azureLabSettings().AZURE_SUBSCRIPTION_ID as string;
    const ref = { subscriptionId: sub, resourceGroup: LAB_RG, name: unique('mi-t-'), owner };
    const a = createManagedIdentityActivities(labClients());
    await a.ensureManagedIdentity({ ...ref, location: LOCATION });
    assert.deepEqual(await a.deleteManagedIdentity(ref), { deleted: true });
    assert.deepEqual(await a.deleteManagedIdentity(ref), { deleted: false });
    assert.equal((await a.ensureManagedIdentity({ ...ref, location: LOCATION })).created, true);
  });
});
