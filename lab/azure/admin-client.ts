/** Talks to the fake's `/_admin` endpoint over TLS with the lab CA: for tests, benchmarks and the lab starter. */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { LoggedRequest } from './admin.js';
import type { FaultRule, Knobs } from './knobs.js';
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

/** The admin API in one object, for tests and benchmarks. */
export function azureAdmin(settings: AzureLabSettings) {
  return {
    state: () =>
      call<{ resources: Array<Record<string, unknown> & { id: string; name: string; type: string }> }>(
        settings,
        'GET',
        '/state',
      ),
    /** The request log's position now: pass it to `requests` to read only what came after. */
    mark: () => call<{ last: number }>(settings, 'GET', '/requests/mark').then((r) => r.last),
    requests: (after = 0) =>
      call<{ requests: LoggedRequest[] }>(settings, 'GET', `/requests?after=${after}`).then((r) => r.requests),
    knobs: (patch: Partial<Knobs>) => call<Knobs>(settings, 'PUT', '/knobs', patch),
    fault: (rule: FaultRule) =>
      call<Knobs>(settings, 'GET', '/knobs').then((k) =>
        call<Knobs>(settings, 'PUT', '/knobs', { faults: [...k.faults, rule] }),
      ),
    clearFaults: () => call<Knobs>(settings, 'PUT', '/knobs', { faults: [] }),
    seedCluster: (seed: ClusterSeed) => call<Record<string, unknown>>(settings, 'POST', '/clusters', seed),
    seedDeletedVault: (name: string, location?: string) =>
      call(settings, 'POST', '/deleted-vaults', { name, location }),
    reset: () => call(settings, 'POST', '/reset'),
  };
}
