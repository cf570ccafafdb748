/**
 * How worker, API and CLI reach Temporal: address, namespace, task queue and optional TLS / API key (Temporal
 * Cloud). Read from the environment once, with clear errors.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, optional } from '../config/env.js';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: { serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer; key: Buffer } };
  /** Base URL of the Temporal UI, for links in API answers. */
  uiUrl: string;
}

export const DEFAULT_TASK_QUEUE = 'aks-gmsa';

export function readTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = optional(env, 'TEMPORAL_ADDRESS') ?? '127.0.0.1:7233';
  if (!/^[^\s:]+:\d{1,5}$/.test(address)) throw new ConfigError('TEMPORAL_ADDRESS', 'must be host:port');
  const file = (name: string) => {
    const path = optional(env, name);
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(name, `cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const ca = file('TEMPORAL_TLS_CA_FILE');
  const crt = file('TEMPORAL_TLS_CERT_FILE');
  const key = file('TEMPORAL_TLS_KEY_FILE');
  if (!!crt !== !!key)
    throw new ConfigError(crt ? 'TEMPORAL_TLS_KEY_FILE' : 'TEMPORAL_TLS_CERT_FILE', 'cert and key go together');
  const apiKey = optional(env, 'TEMPORAL_API_KEY');
  const tlsOn = ca || crt || apiKey || optional(env, 'TEMPORAL_TLS') === 'true';
  return {
    address,
    namespace: optional(env, 'TEMPORAL_NAMESPACE') ?? 'default',
    taskQueue: optional(env, 'GMSA_TASK_QUEUE') ?? DEFAULT_TASK_QUEUE,
    apiKey,
    tls: tlsOn ? { serverRootCACertificate: ca, clientCertPair: crt && key ? { crt, key } : undefined } : undefined,
    uiUrl: (optional(env, 'TEMPORAL_UI_URL') ?? 'http://127.0.0.1:8233').replace(/\/$/, ''),
  };
}

/** Options for Connection.connect / NativeConnection.connect. */
export function connectionOptions(s: TemporalSettings) {
  return { address: s.address, tls: s.tls, apiKey: s.apiKey };
}
