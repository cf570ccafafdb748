/**
 * The lab's own control surface under `/_admin` (loopback only, not part of ARM): read the world and the request
 * log, set latency and fault knobs, seed clusters and soft-deleted vaults, reset to the DESIGN seed.
 */
import { armError, json, type Reply, type Request } from './arm-http.js';
import { updateKnobs, type Knobs } from './knobs.js';
import { expandPreset } from './latency-model.js';
import { seedCluster, type ClusterSeed, type World } from './world.js';

export interface LoggedRequest {
  /** Position in the log, from 1: a test reads `after` a mark it took, never by wall-clock time. */
  seq: number;
  at: number;
  method: string;
  path: string;
  op: string;
  apiVersion?: string;
  status: number;
  fault?: string;
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

export function adminRoute(host: AdminHost, req: Request): Reply | undefined {
  if (!req.path.startsWith('/_admin/')) return undefined;
  const what = `${req.method} ${req.path.slice('/_admin'.length)}`;
  const w = host.world;
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
      if (!seed.name) return armError(400, 'BadRequest', 'name is required');
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
