/**
 * The lab's own control surface under `/_admin` (loopback only, not part of ARM): read the world and the request
 * log, set latency and fault knobs, seed clusters and soft-deleted vaults, reset to the DESIGN seed.
 *
 * - `GET /health`, `GET /state` (resources, operations, knobs), `POST /reset`.
 * - `GET /requests?after=N`: the log entries with `seq > N`; `GET /requests/mark`: `{ last }`, the newest seq.
 * - `GET /knobs`; `PUT /knobs` merges global latency/LRO/propagation dials (`{azureLike: scale}` expands the
 *   latency model) and, given `faults`, replaces the whole fault list: for the lab starter and benchmarks only.
 * - `POST /faults {op, kind, count?, rate?, pathIncludes?, retryAfterSec?, errorCode?, errorMessage?}` -> `{ id }`;
 *   `DELETE /faults/{id}` removes that rule alone (404 if unknown), so parallel tests never touch each other's.
 * - `POST /overrides {pathIncludes, op?, latencyMs?, lroMs?, rbacPropagationMs?, hold?}` -> `{ id }`;
 *   `POST /overrides/{id}/release` ends its holds (held operations finish on the next poll, held role
 *   assignments reach the data plane); `DELETE /overrides/{id}` releases and removes it.
 * - `POST /clusters {name, resourceGroup?, windowsPools?, linuxPools?, gmsa?, ...}` seeds another managed cluster
 *   with its node resource group, kubelet identity and one scale set per pool (world.ts `ClusterSeed`); 409 when
 *   that cluster exists, since seeding again would replace its scale sets under a test that uses them.
 *   `POST /deleted-vaults {name, location?}` seeds a soft-deleted vault.
 * See knobs.ts for what each knob, fault kind and override field does.
 */
import { randomUUID } from 'node:crypto';
import { armError, json, type Reply, type Request } from './arm-http.js';
import { invalidFault, invalidOverride, updateKnobs, type FaultRule, type Knobs, type Override } from './knobs.js';
import { expandPreset } from './latency-model.js';
import { releaseHeld } from './lro.js';
import { clusterSeedProblem, existingCluster, seedCluster, type ClusterSeed, type World } from './world.js';

export interface LoggedRequest {
  /** Position in the log, from 1: a test reads `after` a mark it took, never by wall-clock time. */
  seq: number;
  at: number;
  method: string;
  path: string;
  op: string;
  apiVersion?: string;
  /** What the client got: 0 when the connection was dropped. */
  status: number;
  fault?: string;
  /** With an `appliedThenReset` fault: the status the applied request would have answered. */
  applied?: number;
}

export interface AdminHost {
  world: World;
  knobs: Knobs;
  log: LoggedRequest[];
  /** The seq of the newest logged request (0 before any). */
  lastSeq(): number;
  setKnobs(k: Knobs): void;
  reset(): void;
}

/** Adds, removes and releases single fault rules and overrides by id: no read-modify-write by the caller. */
function byId(host: AdminHost, req: Request, sub: string): Reply | undefined {
  const m = /^\/(faults|overrides)(?:\/([^/]+)(\/release)?)?$/.exec(sub);
  if (!m) return undefined;
  const [, list, id, release] = m as unknown as [
    string,
    'faults' | 'overrides',
    string | undefined,
    string | undefined,
  ];
  const k = host.knobs;
  if (!id && req.method === 'POST') {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const invalid = list === 'faults' ? invalidFault(body) : invalidOverride(body);
    if (invalid) return armError(400, 'BadRequest', invalid);
    const { released: _r, ...fields } = body;
    const entry = { ...fields, id: randomUUID() };
    if (list === 'faults') host.setKnobs({ ...k, faults: [...k.faults, entry as unknown as FaultRule] });
    else host.setKnobs({ ...k, overrides: [...k.overrides, entry as unknown as Override] });
    return json(201, { id: entry.id });
  }
  if (!id) return undefined;
  if (list === 'faults' && !release && req.method === 'DELETE') {
    if (!k.faults.some((f) => f.id === id)) return armError(404, 'NotFound', `no fault ${id}`);
    host.setKnobs({ ...k, faults: k.faults.filter((f) => f.id !== id) });
    return json(200, { id });
  }
  if (list !== 'overrides') return undefined;
  const o = k.overrides.find((x) => x.id === id);
  if (release && req.method === 'POST') {
    if (!o) return armError(404, 'NotFound', `no override ${id}`);
    releaseHeld(host.world, o);
    return json(200, { id });
  }
  if (!release && req.method === 'DELETE') {
    if (!o) return armError(404, 'NotFound', `no override ${id}`);
    // Released first, so that an operation it held never stays InProgress for good.
    releaseHeld(host.world, o);
    host.setKnobs({ ...k, overrides: k.overrides.filter((x) => x.id !== id) });
    return json(200, { id });
  }
  return undefined;
}

export function adminRoute(host: AdminHost, req: Request): Reply | undefined {
  if (!req.path.startsWith('/_admin/')) return undefined;
  const sub = req.path.slice('/_admin'.length);
  const what = `${req.method} ${sub}`;
  const w = host.world;
  const one = byId(host, req, sub);
  if (one) return one;
  switch (what) {
    case 'GET /health':
      return json(200, { ok: true });
    case 'GET /state':
      return json(200, {
        tenantId: w.tenantId,
        subscriptionId: w.subscriptionId,
        resourceGroups: [...w.resourceGroups.values()],
        resources: [...w.resources.values()],
        deletedVaults: [...w.deletedVaults.values()].map(({ vault: _v, data: _d, ...d }) => d),
        operations: [...w.operations.values()].map(({ finish: _f, ...o }) => o),
        knobs: host.knobs,
      });
    case 'GET /requests': {
      const after = Number(req.query.get('after') ?? 0);
      return json(200, { requests: host.log.filter((r) => r.seq > after), last: host.lastSeq() });
    }
    case 'GET /requests/mark':
      return json(200, { last: host.lastSeq() });
    case 'GET /knobs':
      return json(200, host.knobs);
    case 'PUT /knobs':
      host.setKnobs(updateKnobs(host.knobs, expandPreset((req.body ?? {}) as Partial<Knobs> & { azureLike?: number })));
      return json(200, host.knobs);
    case 'POST /reset':
      host.reset();
      return json(200, { ok: true });
    case 'POST /clusters': {
      const seed = (req.body ?? {}) as ClusterSeed;
      const problem = clusterSeedProblem(seed);
      if (problem) return armError(400, 'BadRequest', problem);
      const existing = existingCluster(w, seed);
      if (existing) return armError(409, 'Conflict', `cluster ${existing.id} exists already; seed another name`);
      return json(201, seedCluster(w, seed));
    }
    case 'POST /deleted-vaults': {
      const { name, location = w.location } = (req.body ?? {}) as { name?: string; location?: string };
      if (!name) return armError(400, 'BadRequest', 'name is required');
      const now = Date.now();
      w.deletedVaults.set(name.toLowerCase(), {
        name,
        location,
        vaultId: `/subscriptions/${w.subscriptionId}/resourceGroups/rg-elsewhere/providers/Microsoft.KeyVault/vaults/${name}`,
        deletionDate: new Date(now).toISOString(),
        scheduledPurgeDate: new Date(now + 90 * 86_400_000).toISOString(),
        tags: {},
      });
      return json(201, { name, location });
    }
    default:
      return armError(404, 'NotFound', `no admin route ${what}`);
  }
}
