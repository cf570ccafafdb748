/** The command line of bench/fleet.ts, checked before anything starts. */
import { parseArgs } from 'node:util';
import type { VaultLayout } from './requests.js';

export interface FleetOptions {
  /** Bindings per fleet (with `clusters` > 1: one per cluster, so `clusters`). */
  n: number;
  /** The fake's latency model scale (`PUT /_admin/knobs {azureLike}`); 0 is zero latency. */
  latency: number;
  sharedIdentity: boolean;
  /** The secrets in the cluster's vault or in a vault each, and the hosts' read on it. */
  vaults: VaultLayout;
  clusters: number;
  workers: number;
  /** SIGKILL a worker every this many ms (0: never). */
  killEveryMs: number;
  timeoutMs: number;
  /** Worker and API under tsx from the sources instead of dist/. */
  source: boolean;
  /** Use dist/ as it is, even when older than the sources. */
  noBuild: boolean;
  /** Only the fleet with latency: no floor runs. */
  noFloor: boolean;
  /** Long-running operations take the latency model's medians, not draws (run.ts medianLros). */
  medianLro: boolean;
  /** Leave a Samba or kube-apiserver this bench started running (they are shared by everything on the machine). */
  keepPeers: boolean;
  /** Leave the AD users, gMSAs and credential specs of the run in the shared DC and API server. */
  keepObjects: boolean;
  /** Copy the API's and workers' logs here before the bench's temporary directory is removed. */
  keepLogs?: string;
  /** Extra settings of the workers only (`--worker-env NAME=value`), e.g. GMSA_MAX_CACHED_WORKFLOWS=50. */
  workerEnv: Record<string, string>;
}

export const USAGE = `usage: npm run bench:fleet -- [options]
  --n N               bindings on one cluster (default 200)
  --latency S         the Azure fake's latency model at scale S (default 0.05; 0 = zero latency)
  --shared-identity   one managed identity for every binding (one PATCH in all)
  --vault-per-binding each binding's secret in a vault of its own (default: the cluster's one vault, as in the
                      README's lab request)
  --access MODE       the hosts' read on the vault: rbac (default: a role assignment on each secret) or
                      accessPolicy (records each binding's principal in the vault's tags: ~180 bindings a vault)
  --clusters K        one gMSA on K clusters at once (one binding per cluster; --n is ignored)
  --workers W         worker processes on the task queue (default 1)
  --kill-every S      SIGKILL a worker every S seconds (alternating) and start it again; runs the fleet without
                      kills first and compares (use --workers 2)
  --timeout MIN       bound on the whole bench (default 15)
  --source            run worker and API from the sources under tsx (while the build does not type-check)
  --no-build          run dist/ as it is, even when older than the sources
  --no-floor          measure the fleet with latency only (no zero-latency fleet, no single binding)
  --median-lro        every long-running operation takes the latency model's median, not a draw: the one
                      binding and the fleet then wait on Azure alike (a kill run always does)
  --keep-peers        leave a Samba DC or kube-apiserver that this bench started running
  --keep-objects      leave the run's AD accounts and credential specs in the shared DC and API server
  --keep-logs DIR     copy the API's and workers' logs to DIR at the end
  --worker-env N=V    a setting for the workers only (repeatable), e.g. GMSA_MAX_CACHED_WORKFLOWS=50`;

export function parseOptions(argv: string[]): FleetOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string', default: '200' },
      latency: { type: 'string', default: '0.05' },
      'shared-identity': { type: 'boolean', default: false },
      'vault-per-binding': { type: 'boolean', default: false },
      access: { type: 'string', default: 'rbac' },
      clusters: { type: 'string', default: '1' },
      workers: { type: 'string', default: '1' },
      'kill-every': { type: 'string', default: '0' },
      timeout: { type: 'string', default: '15' },
      source: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'no-floor': { type: 'boolean', default: false },
      'median-lro': { type: 'boolean', default: false },
      'keep-peers': { type: 'boolean', default: false },
      'keep-objects': { type: 'boolean', default: false },
      'keep-logs': { type: 'string' },
      'worker-env': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageError('');
  const number = (name: string, text: string, ok: (v: number) => boolean, rule: string) => {
    const v = Number(text);
    if (!Number.isFinite(v) || !ok(v)) throw new UsageError(`--${name} ${text}: must be ${rule}`);
    return v;
  };
  const int = (v: number) => Number.isInteger(v);
  if (values.access !== 'rbac' && values.access !== 'accessPolicy') {
    throw new UsageError(`--access ${values.access}: must be rbac or accessPolicy`);
  }
  const clusters = number('clusters', values.clusters, (v) => int(v) && v >= 1 && v <= 50, 'an integer 1-50');
  const o: FleetOptions = {
    n: clusters > 1 ? clusters : number('n', values.n, (v) => int(v) && v >= 1 && v <= 1000, 'an integer 1-1000'),
    latency: number('latency', values.latency, (v) => v >= 0 && v <= 1, 'a scale within 0..1'),
    sharedIdentity: values['shared-identity'],
    vaults: { vaults: values['vault-per-binding'] ? 'binding' : 'cluster', access: values.access },
    clusters,
    workers: number('workers', values.workers, (v) => int(v) && v >= 1 && v <= 8, 'an integer 1-8'),
    killEveryMs: number('kill-every', values['kill-every'], (v) => v >= 0, 'seconds ≥ 0') * 1000,
    timeoutMs: number('timeout', values.timeout, (v) => v > 0, 'minutes > 0') * 60_000,
    source: values.source,
    noBuild: values['no-build'],
    noFloor: values['no-floor'],
    medianLro: values['median-lro'],
    keepPeers: values['keep-peers'],
    keepObjects: values['keep-objects'],
    ...(values['keep-logs'] ? { keepLogs: values['keep-logs'] } : {}),
    workerEnv: Object.fromEntries(
      values['worker-env'].map((pair) => {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
        if (!m) throw new UsageError(`--worker-env ${pair}: must be NAME=value`);
        return [m[1] as string, m[2] as string];
      }),
    ),
  };
  if (o.sharedIdentity && o.clusters > 1) throw new UsageError('--shared-identity and --clusters: choose one mode');
  if (o.killEveryMs > 0 && o.workers < 2)
    console.warn('--kill-every with one worker: every kill leaves the queue without a worker until it restarts');
  return o;
}

export class UsageError extends Error {}
