/** Talks to the fake's `/_admin` endpoint over TLS with the lab CA: for tests, benchmarks and the lab starter. */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { LoggedRequest } from './admin.js';
import type { FaultRule, Knobs, Override } from './knobs.js';
import type { ClusterSeed } from './world.js';

export type AzureLabSettings = Record<string, string>;

function call<T>(settings: AzureLabSettings, method: string, path: string, body?: unknown): Promise<T> {
  const url = new URL(`${settings.AZURE_LAB_ADMIN_URL}${path}`);
  const ca = readFileSync(settings.AZURE_CA_FILE as string);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method, ca, headers: payload ? { 'content-type': 'application/json' } : {}, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          else resolve((text ? JSON.parse(text) : undefined) as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export const adminGet = <T = unknown>(s: AzureLabSettings, path: string) => call<T>(s, 'GET', path);

export type OverrideSpec = Omit<Override, 'id' | 'released'>;

/** An override in force: `release` ends its holds (held operations finish, held role assignments propagate). */
export interface OverrideHandle {
  id: string;
  release(): Promise<void>;
}

/** The admin API in one object, for tests and benchmarks. */
export function azureAdmin(settings: AzureLabSettings) {
  const api = {
    state: () =>
      call<{
        resources: Array<Record<string, unknown> & { id: string; name: string; type: string }>;
        operations: Array<{
          id: string;
          status: string;
          startTime: string;
          doneAt: number;
          op?: string;
          path?: string;
        }>;
      }>(settings, 'GET', '/state'),
    /** The request log's position now: pass it to `requests` to read only what came after. */
    mark: () => call<{ last: number }>(settings, 'GET', '/requests/mark').then((r) => r.last),
    requests: (after = 0) =>
      call<{ requests: LoggedRequest[] }>(settings, 'GET', `/requests?after=${after}`).then((r) => r.requests),
    /** The global dials, for the lab starter and benchmarks; tests use `withFault` / `withOverride` instead. */
    knobs: (patch: Partial<Knobs>) => call<Knobs>(settings, 'PUT', '/knobs', patch),
    currentKnobs: () => call<Knobs>(settings, 'GET', '/knobs'),
    /** Adds one fault rule in one call (no read-modify-write) and returns its id. */
    fault: (rule: Omit<FaultRule, 'id'>) => call<{ id: string }>(settings, 'POST', '/faults', rule).then((r) => r.id),
    removeFault: (id: string) => call(settings, 'DELETE', `/faults/${encodeURIComponent(id)}`).then(() => undefined),
    /** Runs `fn` with the rule in force and removes the rule afterwards, whatever `fn` does. */
    async withFault<T>(rule: Omit<FaultRule, 'id'>, fn: (id: string) => Promise<T>): Promise<T> {
      const id = await api.fault(rule);
      try {
        return await fn(id);
      } finally {
        await api.removeFault(id);
      }
    },
    override: (o: OverrideSpec) => call<{ id: string }>(settings, 'POST', '/overrides', o).then((r) => r.id),
    release: (id: string) =>
      call(settings, 'POST', `/overrides/${encodeURIComponent(id)}/release`).then(() => undefined),
    removeOverride: (id: string) =>
      call(settings, 'DELETE', `/overrides/${encodeURIComponent(id)}`).then(() => undefined),
    /** Runs `fn` with the override in force; removes it afterwards (which also releases what it still holds). */
    async withOverride<T>(o: OverrideSpec, fn: (h: OverrideHandle) => Promise<T>): Promise<T> {
      const id = await api.override(o);
      try {
        return await fn({ id, release: () => api.release(id) });
      } finally {
        await api.removeOverride(id);
      }
    },
    seedCluster: (seed: ClusterSeed) => call<Record<string, unknown>>(settings, 'POST', '/clusters', seed),
    seedDeletedVault: (name: string, location?: string) =>
      call(settings, 'POST', '/deleted-vaults', { name, location }),
    reset: () => call(settings, 'POST', '/reset'),
  };
  return api;
}
