/** What the Azure lab part hands to the worker and tests (these land in .lab/lab.env). */
import path from 'node:path';
import { labPath } from '../paths.js';
import type { World } from './world.js';

export const azureLabDir = () => labPath('azure');
export const SETTINGS_FILE = () => path.join(azureLabDir(), 'settings.json');

export function labSettings(armEndpoint: string, world: World, caFile: string): Record<string, string> {
  return {
    AZURE_LAB: '1',
    // The fake's token endpoint issues tokens for the lab service principal's client secret.
    AZURE_CREDENTIAL: 'client-secret',
    AZURE_ARM_ENDPOINT: armEndpoint,
    AZURE_AUTHORITY_HOST: armEndpoint,
    AZURE_TENANT_ID: world.tenantId,
    AZURE_CLIENT_ID: world.client.clientId,
    AZURE_CLIENT_SECRET: world.client.clientSecret,
    AZURE_SUBSCRIPTION_ID: world.subscriptionId,
    AZURE_CA_FILE: caFile,
    AZURE_LAB_ADMIN_URL: `${armEndpoint}/_admin`,
    // The fake's operations last milliseconds to seconds (its latency model scaled): a worker waiting on a busy
    // cluster looks every 2 s, not every 10 s as against Azure (200 waiting bindings then read 100 times a second).
    AZURE_POLL_INTERVAL_MS: '2000',
  };
}
