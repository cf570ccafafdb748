/**
 * The worker's whole configuration, read and validated at start. A bad value stops the worker with a message
 * naming the variable; an outside system left unconfigured makes its steps fail with "not configured".
 */
import { readKeyRing, type KeyRing } from '../../temporal/codec.js';
import { readTemporalSettings, type TemporalSettings } from '../../temporal/settings.js';
import { ConfigError, optional, wholeNumber } from '../../config/env.js';

export interface WorkerConfig {
  temporal: TemporalSettings;
  keyRing: KeyRing;
  logLevel: string;
  /** Seconds in-flight activities get to finish after SIGTERM before they are cancelled. */
  shutdownGraceSeconds: number;
  /** Runs kept in memory between their tasks; the rest are replayed from history when they move again. */
  maxCachedWorkflows: number;
  /** Activities running at once: most wait on Azure (a PATCH, a vault create), so far more than the SDK's 100. */
  maxConcurrentActivities: number;
}

export const DEFAULT_MAX_CONCURRENT_ACTIVITIES = 400;

/**
 * Every run of a 200-binding fleet stays cached: a run evicted is replayed from its whole history at its next task,
 * which cost the worker a quarter more CPU and the server the history reads at 100. Cached, a run holds about
 * 0.4 MB; with the image's heap limit and jemalloc, a worker with 200 runs in flight peaks near 350 MB (issue 11).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function readWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const logLevel = optional(env, 'LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  const grace = Number(optional(env, 'GMSA_SHUTDOWN_GRACE_SECONDS') ?? '30');
  if (!Number.isFinite(grace) || grace < 0)
    throw new ConfigError('GMSA_SHUTDOWN_GRACE_SECONDS', 'must be a number ≥ 0');
  const cached = wholeNumber(env, 'GMSA_MAX_CACHED_WORKFLOWS', 1) ?? DEFAULT_MAX_CACHED_WORKFLOWS;
  const activities = wholeNumber(env, 'GMSA_MAX_CONCURRENT_ACTIVITIES', 1) ?? DEFAULT_MAX_CONCURRENT_ACTIVITIES;
  return {
    temporal: readTemporalSettings(env),
    keyRing: readKeyRing(env),
    logLevel,
    shutdownGraceSeconds: grace,
    maxCachedWorkflows: cached,
    maxConcurrentActivities: activities,
  };
}
