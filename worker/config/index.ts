/**
 * The worker's whole configuration, read and validated at start. A bad value stops the worker with a message
 * naming the variable; an outside system left unconfigured makes its steps fail with "not configured".
 */
import { readKeyRing, type KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings, type TemporalSettings } from '../../temporal/settings.js';
import { ConfigError, optional } from '../../config/env.js';

export interface WorkerConfig {
  temporal: TemporalSettings;
  keyRing: KeyRing;
  logLevel: string;
  /** Seconds in-flight activities get to finish after SIGTERM before they are cancelled. */
  shutdownGraceSeconds: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function readWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const logLevel = optional(env, 'LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  const grace = Number(optional(env, 'GMSA_SHUTDOWN_GRACE_SECONDS') ?? '30');
  if (!Number.isFinite(grace) || grace < 0)
    throw new ConfigError('GMSA_SHUTDOWN_GRACE_SECONDS', 'must be a number ≥ 0');
  return { temporal: readTemporalSettings(env), keyRing: readKeyRing(env), logLevel, shutdownGraceSeconds: grace };
}
