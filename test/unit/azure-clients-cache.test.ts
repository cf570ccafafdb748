/**
 * createAzureClients keeps one client per subscription for good, and one per vault for the most recently used
 * vaults only: a long-lived worker writes to a new vault with nearly every binding.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenCredential } from '@azure/core-auth';
import { createAzureClients, MAX_CACHED_VAULT_CLIENTS } from '../../activities/azure/clients.js';

const credential: TokenCredential = { getToken: async () => null };
const vault = (i: number) => `https://vault-${i}.vault.example.test/`;

describe('createAzureClients', () => {
  it('keeps one client per subscription', () => {
    const clients = createAzureClients(credential, { armEndpoint: 'https://arm.example.test' });
    assert.equal(clients.compute('sub-a'), clients.compute('sub-a'));
    assert.notEqual(clients.compute('sub-a'), clients.compute('sub-b'));
  });

  it('keeps the most recently used vaults’ clients and lets the oldest go', () => {
    const clients = createAzureClients(credential, { armEndpoint: 'https://arm.example.test' });
    const first = clients.secrets(vault(0));
    const second = clients.secrets(vault(1));
    assert.equal(clients.secrets(vault(0)), first, 'a kept vault answers with the same client');
    // vault 0 was used last of the two: filling the cache pushes vault 1 out first.
    for (let i = 2; i < MAX_CACHED_VAULT_CLIENTS; i++) clients.secrets(vault(i));
    assert.equal(clients.secrets(vault(1)), second, 'still kept at exactly the limit');
    clients.secrets(vault(MAX_CACHED_VAULT_CLIENTS));
    assert.notEqual(clients.secrets(vault(0)), first, 'the least recently used vault got a new client');
    assert.equal(clients.secrets(vault(1)), second);
    assert.equal(clients.secrets(vault(0)).vaultUrl, vault(0));
  });
});
