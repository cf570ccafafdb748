/**
 * The fake's dials for benchmarks and chaos tests: a delay per operation, how long each long-running operation
 * stays InProgress, and injected faults (by rate or for the next N matching calls). Operation names look like
 * `GET managedClusters`, `PATCH virtualMachineScaleSets`, `PUT secrets`; `*` matches any; `op@text` narrows a
 * duration to paths containing `text`.
 */
import { armError, json, type Reply } from './arm-http.js';

export type FaultKind = 'throttle' | 'server' | 'unavailable' | 'forbidden' | 'unauthorized' | 'conflict' | 'reset';

export interface FaultRule {
  op: string;
  kind: FaultKind;
  /** Probability per matching call, 0..1 (default 1). */
  rate?: number;
  /** Inject only this many more times, then the rule retires. */
  count?: number;
  /** Only calls whose path contains this text (case-insensitive): keeps one test's faults away from another's. */
  pathIncludes?: string;
  /** Seconds in the Retry-After header of a throttle (default 1). */
  retryAfterSec?: number;
}

/** A fixed delay, or a log-normal one given by its median and 95th percentile (the latency model's shape). */
export type Duration = number | { median: number; p95: number };

export interface Knobs {
  /** Delay before answering, per operation name or `*`. */
  latencyMs: Record<string, Duration>;
  /** Time a long-running operation stays InProgress, per operation name or `*`. */
  lroMs: Record<string, Duration>;
  /** Retry-After (seconds) on long-running operation responses: the client's polling interval. */
  lroRetryAfterSec: number;
  /** How long a new role assignment takes to reach the vault data plane (Azure: up to 10 minutes). */
  rbacPropagationMs: number;
  faults: FaultRule[];
}

export const defaultKnobs = (): Knobs => ({
  latencyMs: { '*': 0 },
  lroMs: { '*': 0 },
  lroRetryAfterSec: 0,
  rbacPropagationMs: 0,
  faults: [],
});

/**
 * A sample of the duration for `op` on `path`: fixed, or log-normal with sigma = ln(p95/median) / 1.645. A key
 * `op@text` applies only to paths containing `text` and wins over `op`, so one test can slow its own resource.
 */
export function pick(table: Record<string, Duration>, op: string, path = ''): number {
  const lower = path.toLowerCase();
  const scoped = Object.keys(table).find(
    (k) => k.startsWith(`${op}@`) && lower.includes(k.slice(op.length + 1).toLowerCase()),
  );
  const d = (scoped ? table[scoped] : undefined) ?? table[op] ?? table['*'] ?? 0;
  if (typeof d === 'number') return d;
  if (d.median <= 0) return 0;
  const sigma = Math.log(Math.max(d.p95, d.median) / d.median) / 1.645;
  const normal = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  return Math.round(d.median * Math.exp(sigma * normal));
}

/** Merges a partial update; `faults` given replaces the list. */
export function updateKnobs(knobs: Knobs, patch: Partial<Knobs>): Knobs {
  return {
    latencyMs: { ...knobs.latencyMs, ...(patch.latencyMs ?? {}) },
    lroMs: { ...knobs.lroMs, ...(patch.lroMs ?? {}) },
    lroRetryAfterSec: patch.lroRetryAfterSec ?? knobs.lroRetryAfterSec,
    rbacPropagationMs: patch.rbacPropagationMs ?? knobs.rbacPropagationMs,
    faults: patch.faults ?? knobs.faults,
  };
}

/** The fault to inject for this call, if any ('reset' means: drop the connection). */
export function drawFault(knobs: Knobs, op: string, path: string): FaultRule | undefined {
  for (const rule of knobs.faults) {
    if (rule.op !== '*' && rule.op !== op) continue;
    if (rule.pathIncludes && !path.toLowerCase().includes(rule.pathIncludes.toLowerCase())) continue;
    if (rule.count !== undefined && rule.count <= 0) continue;
    if (Math.random() >= (rule.rate ?? 1)) continue;
    if (rule.count !== undefined) rule.count -= 1;
    return rule;
  }
  return undefined;
}

/** The reply real Azure gives for each fault kind. */
export function faultReply(rule: FaultRule, op: string, scope: string, caller?: { oid: string; appid: string }): Reply {
  switch (rule.kind) {
    case 'throttle': {
      const s = rule.retryAfterSec ?? 1;
      return armError(
        429,
        'SubscriptionRequestsThrottled',
        `Number of requests for subscription exceeded the limit. Please try again after '${s}' seconds.`,
        { 'Retry-After': String(s) },
      );
    }
    case 'server':
      return armError(
        500,
        'InternalServerError',
        'Encountered internal server error. Diagnostic information: lab fault.',
      );
    case 'unavailable':
      return armError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. Please retry the request.');
    case 'forbidden':
      return armError(
        403,
        'AuthorizationFailed',
        `The client '${caller?.appid ?? 'unknown'}' with object id '${caller?.oid ?? 'unknown'}' does not have authorization to perform action '${op}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
    case 'unauthorized':
      return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    case 'conflict':
      return armError(
        409,
        'OperationNotAllowed',
        'Operation is not allowed because there is an in progress operation on this resource. Please wait for it to finish before starting a new operation.',
      );
    case 'reset':
      return json(0);
  }
}
