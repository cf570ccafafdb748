/**
 * Median time per Azure activity against the lab fake with zero injected latency (what the code and the SDK cost
 * per call, first run and rerun), and what one long-running operation costs in polling beyond its own duration.
 * Starts the Azure lab part if it is not running. Prints figures; asserts nothing.
 *
 *   tsx bench/azure-activities.ts [iterations]
 */
import { createAksActivities, createKubeconfigSource } from '../activities/azure/aks.js';
import { connectAzure } from '../activities/azure/connect.js';
import { createKeyVaultAccessActivities } from '../activities/azure/key-vault-access.js';
import { createKeyVaultActivities } from '../activities/azure/key-vault.js';
import { createManagedIdentityActivities } from '../activities/azure/managed-identity.js';
import { azureAdmin } from '../lab/azure/admin-client.js';
import { azureLab } from '../lab/azure/index.js';
import { readAzureConfig } from '../worker/config/azure.js';

const N = Number(process.argv[2] ?? 15);
const RG = 'rg-gmsa-lab';
const LOCATION = 'westeurope';
const FQDN = 'lab.example.test';

const settings = await azureLab.start();
Object.assign(process.env, settings);
const admin = azureAdmin(settings);
await admin.knobs({ latencyMs: { '*': 0 }, lroMs: { '*': 0 }, lroRetryAfterSec: 0, faults: [] });
const config = readAzureConfig(process.env);
if (!config) throw new Error('Azure lab settings did not configure Azure');
const { clients } = connectAzure({ ...config, pollIntervalMs: 0 });
const sub = config.subscriptionId;

const aks = createAksActivities(clients);
const kubeconfigs = createKubeconfigSource(clients);
const mi = createManagedIdentityActivities(clients);
const kv = createKeyVaultActivities(clients);
const access = createKeyVaultAccessActivities(clients);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

interface Row {
  step: string;
  ms: number[];
  calls: number[];
}
const rows = new Map<string, Row>();
let seq = 0;

/** Times one call and counts the HTTP requests the fake saw for it (token refreshes included). */
async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const before = await admin.mark();
  const t0 = performance.now();
  const out = await fn();
  const ms = performance.now() - t0;
  const calls = (await admin.requests(before)).length;
  const row = rows.get(step) ?? { step, ms: [], calls: [] };
  row.ms.push(ms);
  row.calls.push(calls);
  rows.set(step, row);
  return out;
}

// One warm-up pass so the first token fetch and module loading do not count.
await clients.caller();

// Outside a workflow the activities are told whom they act for: one binding for the whole bench.
const owner = { binding: 'bench-azure-activities', adopt: [] };

for (let i = 0; i < N; i++) {
  const tag = `${process.pid.toString(36)}${(seq++).toString(36)}`;
  const name = `aks-b-${tag}`;
  await admin.seedCluster({ name, resourceGroup: RG });
  const cluster = { subscriptionId: sub, resourceGroup: RG, name, windowsNodePools: ['win1'] };
  const confirm = { cluster, domainFqdn: FQDN, dnsServer: '10.0.0.4', enable: true };
  const c = await timed('confirmAksGmsa (enables: GET, pools, PUT + poll)', () => aks.confirmAksGmsa(confirm));
  await timed('confirmAksGmsa (rerun)', () => aks.confirmAksGmsa(confirm));
  await timed('getKubeconfig', () => kubeconfigs.getKubeconfig(cluster));
  const miRef = { subscriptionId: sub, resourceGroup: RG, name: `mi-b-${tag}`, location: LOCATION, owner };
  const identity = await timed('ensureManagedIdentity (creates)', () => mi.ensureManagedIdentity(miRef));
  await timed('ensureManagedIdentity (rerun)', () => mi.ensureManagedIdentity(miRef));
  const kvRef = { subscriptionId: sub, resourceGroup: RG, name: `kv-b-${tag}`, location: LOCATION, owner };
  const vault = await timed('ensureKeyVault (creates, access policy)', () =>
    kv.ensureKeyVault({ ...kvRef, accessMode: 'accessPolicy' }),
  );
  await timed('ensureKeyVault (rerun)', () => kv.ensureKeyVault({ ...kvRef, accessMode: 'accessPolicy' }));
  const secret = { vaultUri: vault.vaultUri, secretName: 'gmsa-bench', domainFqdn: FQDN, user: 'gmsa-bench', owner };
  await timed('storeUserSecret (creates)', () => kv.storeUserSecret(secret));
  await timed('storeUserSecret (rerun)', () => kv.storeUserSecret(secret));
  const grant = {
    cluster,
    nodeResourceGroup: c.nodeResourceGroup,
    vault: { ...kvRef, id: vault.id },
    hostIdentity: 'managedIdentity' as const,
    managedIdentity: { id: identity.id, principalId: identity.principalId },
    accessMode: 'accessPolicy' as const,
    secretName: secret.secretName,
    owner,
  };
  await timed('grantKeyVaultAccess (VMSS PATCH + poll, policy)', () => access.grantKeyVaultAccess(grant));
  await timed('grantKeyVaultAccess (rerun)', () => access.grantKeyVaultAccess(grant));
}

console.log(`\nAzure activities against the lab fake, zero injected latency, ${N} runs each (median)\n`);
console.log(`${'activity'.padEnd(52)} ${'median ms'.padStart(10)} ${'HTTP calls'.padStart(11)}`);
for (const r of rows.values()) {
  console.log(`${r.step.padEnd(52)} ${median(r.ms).toFixed(1).padStart(10)} ${String(median(r.calls)).padStart(11)}`);
}

// ---- polling overhead of one long-running operation -------------------------------------------------------------
const nodeRg = `MC_${RG}_aks-gmsa-lab_${LOCATION}`;
const vmss = clients.compute(sub).virtualMachineScaleSets;
const current = await vmss.get(nodeRg, 'akswin1');
const identity = {
  type: current.identity?.type,
  userAssignedIdentities: Object.fromEntries(
    Object.keys(current.identity?.userAssignedIdentities ?? {}).map((k) => [k, {}]),
  ),
};

async function lro(lroMs: number, retryAfterSec: number, pollMs: number): Promise<{ ms: number; calls: number }> {
  await admin.knobs({ lroMs: { 'PATCH virtualMachineScaleSets': lroMs }, lroRetryAfterSec: retryAfterSec });
  const before = await admin.mark();
  const t0 = performance.now();
  const poller = await vmss.beginUpdate(nodeRg, 'akswin1', { identity }, { updateIntervalInMs: pollMs });
  await poller.pollUntilDone();
  const ms = performance.now() - t0;
  return { ms, calls: (await admin.requests(before)).length };
}

const getMs: number[] = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  await vmss.get(nodeRg, 'akswin1');
  getMs.push(performance.now() - t0);
}
const oneCall = median(getMs);
console.log(`\nOne long-running operation (VMSS PATCH of identity), ${N} runs each (median)\n`);
console.log(`single synchronous GET of the scale set: ${oneCall.toFixed(1)} ms`);
const cases: Array<[string, number, number, number]> = [
  ['completes at once, no Retry-After wait', 0, 0, 0],
  ['lasts 1000 ms, client polls every 100 ms', 1000, 0, 100],
  ['lasts 1000 ms, server says Retry-After: 1', 1000, 1, 2000],
  ['lasts 1000 ms, client at SDK default (2 s)', 1000, 0, 2000],
];
for (const [label, lroMs, ra, poll] of cases) {
  const runs: Array<{ ms: number; calls: number }> = [];
  for (let i = 0; i < (lroMs ? Math.min(N, 5) : N); i++) runs.push(await lro(lroMs, ra, poll));
  const ms = median(runs.map((r) => r.ms));
  const overhead = ms - lroMs;
  console.log(
    `${label.padEnd(44)} total ${ms.toFixed(1).padStart(7)} ms  beyond the operation ${overhead.toFixed(1).padStart(7)} ms` +
      `  (${(overhead / oneCall).toFixed(1)}× one GET)  HTTP calls ${median(runs.map((r) => r.calls))}`,
  );
}
await admin.knobs({ lroMs: { 'PATCH virtualMachineScaleSets': 0 }, lroRetryAfterSec: 0 });
