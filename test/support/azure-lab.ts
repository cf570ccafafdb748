/**
 * For the Azure integration tests: the lab's settings from the environment (the test runner starts the Azure lab
 * part and exports them; a missing one fails the test, naming it), clients built the way the worker builds them,
 * the fake's admin API, faults and overrides scoped to one test and removed by id, and names no other test uses.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { connectAzure, type AzureConnection } from '../../activities/azure/connect.js';
import type { AzureClients } from '../../activities/azure/clients.js';
import { azureAdmin, type OverrideHandle, type OverrideSpec } from '../../lab/azure/admin-client.js';
import type { FaultRule } from '../../lab/azure/knobs.js';
import type { ClusterSeed } from '../../lab/azure/world.js';
import { readAzureConfig } from '../../worker/config/azure.js';

const NEEDED = [
  'AZURE_LAB',
  'AZURE_CREDENTIAL',
  'AZURE_ARM_ENDPOINT',
  'AZURE_AUTHORITY_HOST',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_SUBSCRIPTION_ID',
  'AZURE_CA_FILE',
  'AZURE_LAB_ADMIN_URL',
];

export function azureLabSettings(): Record<string, string> {
  const missing = NEEDED.filter((n) => !process.env[n]);
  if (missing.length) {
    throw new Error(
      `the Azure lab is not running or its settings are not exported: missing ${missing.join(', ')} (start it: tsx lab/azure/cli.ts start)`,
    );
  }
  return Object.fromEntries(NEEDED.map((n) => [n, process.env[n] as string]));
}

export const LAB_RG = 'rg-gmsa-lab';
export const LOCATION = 'westeurope';

export function labConnection(overrides: Partial<AzureConnection> = {}): AzureConnection {
  azureLabSettings();
  const config = readAzureConfig(process.env);
  assert.ok(config, 'readAzureConfig returned undefined with the lab settings exported');
  return { pollIntervalMs: 20, ...config, ...overrides };
}

export function labClients(overrides: Partial<AzureConnection> = {}): AzureClients {
  return connectAzure(labConnection(overrides)).clients;
}

export const admin = () => azureAdmin(azureLabSettings());

/** A name unique to this run: `prefix` plus 6 hex characters (fits Key Vault's 24). */
export const unique = (prefix: string) => `${prefix}${randomBytes(3).toString('hex')}`;

/**
 * A cluster of its own for one test, so tests in parallel files never share scale sets or gMSA state: another managed
 * cluster in the fake, with its node resource group and a scale set per pool (`aks<pool>` for a Windows pool).
 */
export async function seedCluster(seed: Omit<ClusterSeed, 'name' | 'resourceGroup' | 'location'> = {}) {
  const name = unique('aks-t-');
  await admin().seedCluster({ name, resourceGroup: LAB_RG, ...seed });
  return {
    subscriptionId: azureLabSettings().AZURE_SUBSCRIPTION_ID as string,
    resourceGroup: LAB_RG,
    name,
    windowsNodePools: seed.windowsPools ?? ['win1'],
    nodeResourceGroup: `MC_${LAB_RG}_${name}_${LOCATION}`,
  };
}

/** Asserts the promise fails with an ApplicationFailure and returns it. */
export async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a failure, got success');
}

/** The request log's position now (a sequence number, not a time): pass it to `requestsSince`. */
export const mark = () => admin().mark();

/** The requests the fake logged after `mark` whose path contains `text`. */
export async function requestsSince(mark: number, text: string) {
  const all = await admin().requests(mark);
  return all.filter((r) => r.path.toLowerCase().includes(text.toLowerCase()));
}

/** Runs `fn` with one fault rule in force; the rule is removed by its id afterwards, whatever happens. */
export const withFault = <T>(rule: Omit<FaultRule, 'id'>, fn: (id: string) => Promise<T>) =>
  admin().withFault(rule, fn);

/**
 * Runs `fn` with an override for paths containing `o.pathIncludes` (a name unique to the test); it is removed
 * afterwards, which also releases whatever it still holds.
 */
export const withOverride = <T>(o: OverrideSpec, fn: (h: OverrideHandle) => Promise<T>) => admin().withOverride(o, fn);

/**
 * The user-assigned identities on each Windows scale set of a seeded cluster (resource ids, lowercase), read through
 * ARM as the product reads them: what a grant attached and a removal must have detached.
 */
export async function windowsScaleSetIdentities(
  cluster: { subscriptionId: string; nodeResourceGroup: string },
  clients: AzureClients = labClients(),
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const vmss of clients
    .compute(cluster.subscriptionId)
    .virtualMachineScaleSets.list(cluster.nodeResourceGroup)) {
    if (vmss.virtualMachineProfile?.storageProfile?.osDisk?.osType !== 'Windows') continue;
    out.set(
      String(vmss.name),
      Object.keys(vmss.identity?.userAssignedIdentities ?? {}).map((id) => id.toLowerCase()),
    );
  }
  return out;
}
