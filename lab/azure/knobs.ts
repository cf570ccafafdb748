/**
 * The fake's dials for benchmarks and chaos tests: a delay per operation, how long each long-running operation
 * stays InProgress, injected faults, and overrides scoped to one test's resources. Operation names look like
 * `GET managedClusters`, `PATCH virtualMachineScaleSets`, `PUT secrets`; `*` matches any; `op@text` narrows a
 * duration to paths containing `text`. A path is the ARM path, or `vault:{name}/{path}` on a vault's data plane.
 *
 * Admin API (see admin.ts): `GET /_admin/knobs` shows all of it; `PUT /_admin/knobs` merges the global dials (and
 * replaces the fault list, for the lab starter and benchmarks). Tests add and remove their own rules by id only:
 * - `POST /_admin/faults {op, kind, ...}` -> `{ id }`, `DELETE /_admin/faults/{id}`.
 * - `POST /_admin/overrides {pathIncludes, op?, latencyMs?, lroMs?, rbacPropagationMs?, hold?}` -> `{ id }`,
 *   `POST /_admin/overrides/{id}/release`, `DELETE /_admin/overrides/{id}` (which releases too). The newest
 *   override whose `pathIncludes` is in the path (and whose `op`, if given, is the call's) wins over the globals.
 *   `hold: true`: matching long-running operations stay InProgress until released, then finish on the next
 *   poll. `rbacPropagationMs: 'held'`: role assignments do not reach a matching vault's data plane until released.
 *
 * Fault kinds: `throttle`, `server`, `unavailable`, `forbidden`, `unauthorized`, `conflict` and `reset` answer
 * (or drop the connection) before the request is applied. `appliedThenReset` applies the request (a write stores
 * its change or starts its operation) and then drops the connection before any reply: the lost-answer case; it
 * fires only on a call the fake answered with a 2xx, so never on a refused one or a bearer challenge. With
 * `lroFailed` the write is accepted as usual and its long-running operation ends Failed with ARM's error shape,
 * the change not applied and the resource's provisioningState `Failed`; it only fires on calls that start a
 * long-running operation (see LRO_OPS), so it is refused for any other named operation.
 */
import { randomUUID } from 'node:crypto';
import { armError, json, type Reply } from './arm-http.js';

export type FaultKind =
  | 'throttle'
  | 'server'
  | 'unavailable'
  | 'forbidden'
  | 'unauthorized'
  | 'conflict'
  | 'reset'
  | 'appliedThenReset'
  | 'lroFailed';

export const FAULT_KINDS: readonly FaultKind[] = [
  'throttle',
  'server',
  'unavailable',
  'forbidden',
  'unauthorized',
  'conflict',
  'reset',
  'appliedThenReset',
  'lroFailed',
];

/**
 * The operations the fake runs as long-running operations, as Azure does (the only ones `lroFailed` can hit). A
 * vault PUT is long-running only when it creates the vault; an `lroFailed` rule waits, unused, for such a call.
 */
export const LRO_OPS = ['PUT managedClusters', 'PATCH virtualMachineScaleSets', 'PUT vaults'];

export interface FaultRule {
  /** Assigned by the fake when the rule is added; remove the rule by it. */
  id?: string;
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
  /** `lroFailed`: the error the operation ends with (default: the operation's own, see lroFailure). */
  errorCode?: string;
  errorMessage?: string;
}

/** Knobs for the calls of one test's resources: they win over the global ones for paths containing `pathIncludes`. */
export interface Override {
  id: string;
  /** Case-insensitive text the call's path must contain: a resource name unique to the test (for a vault, its name). */
  pathIncludes: string;
  /** Only this operation (default: any). */
  op?: string;
  latencyMs?: Duration;
  lroMs?: Duration;
  /** A number, or `held`: role assignments reach a matching vault's data plane only once the override is released. */
  rbacPropagationMs?: number | 'held';
  /** Matching long-running operations stay InProgress until the override is released. */
  hold?: boolean;
  /** Set by `POST /_admin/overrides/{id}/release`: holds end, and later calls are no longer held. */
  released?: boolean;
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
  /** Added and removed only one by one, by id (never by `PUT /_admin/knobs`). */
  overrides: Override[];
}

export const defaultKnobs = (): Knobs => ({
  latencyMs: { '*': 0 },
  lroMs: { '*': 0 },
  lroRetryAfterSec: 0,
  rbacPropagationMs: 0,
  faults: [],
  overrides: [],
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

/** Merges a partial update; `faults` given replaces the list (each rule gets an id); overrides are kept. */
export function updateKnobs(knobs: Knobs, patch: Partial<Knobs>): Knobs {
  return {
    latencyMs: { ...knobs.latencyMs, ...(patch.latencyMs ?? {}) },
    lroMs: { ...knobs.lroMs, ...(patch.lroMs ?? {}) },
    lroRetryAfterSec: patch.lroRetryAfterSec ?? knobs.lroRetryAfterSec,
    rbacPropagationMs: patch.rbacPropagationMs ?? knobs.rbacPropagationMs,
    faults: patch.faults ? patch.faults.map((f) => ({ ...f, id: f.id ?? randomUUID() })) : knobs.faults,
    overrides: knobs.overrides ?? [],
  };
}

/** Why a fault rule cannot be added, or undefined when it is well formed. */
export function invalidFault(rule: Partial<FaultRule>): string | undefined {
  if (typeof rule.op !== 'string' || !rule.op) return 'op is required (an operation name or *)';
  if (!FAULT_KINDS.includes(rule.kind as FaultKind)) return `kind must be one of ${FAULT_KINDS.join(', ')}`;
  if (rule.kind === 'lroFailed' && rule.op !== '*' && !LRO_OPS.includes(rule.op)) {
    return `${rule.op} is not a long-running operation in the fake; lroFailed applies to ${LRO_OPS.join(', ')}`;
  }
  if (rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1)) return 'rate must be within 0..1';
  return undefined;
}

/** Why an override cannot be added, or undefined when it is well formed. */
export function invalidOverride(o: Partial<Override>): string | undefined {
  if (typeof o.pathIncludes !== 'string' || o.pathIncludes.length < 3) {
    return 'pathIncludes is required (at least 3 characters: a name unique to the test)';
  }
  if (o.rbacPropagationMs !== undefined && o.rbacPropagationMs !== 'held' && typeof o.rbacPropagationMs !== 'number') {
    return "rbacPropagationMs must be a number or 'held'";
  }
  return undefined;
}

const matches = (text: string | undefined, path: string) => !text || path.toLowerCase().includes(text.toLowerCase());

/**
 * When a rule of each kind is drawn: `before` the route runs; once the route `applied` the request (a 2xx reply:
 * a refused or unauthenticated call, such as the data plane's bearer challenge, changed nothing to lose the
 * answer of); once the route started a long-running operation (`lro`).
 */
export type FaultPhase = 'before' | 'applied' | 'lro';
const phaseOf = (kind: FaultKind): FaultPhase =>
  kind === 'appliedThenReset' ? 'applied' : kind === 'lroFailed' ? 'lro' : 'before';

/** The fault to inject for this call at this phase, if any (using up one of its count). */
export function drawFault(knobs: Knobs, op: string, path: string, phase: FaultPhase = 'before'): FaultRule | undefined {
  for (const rule of knobs.faults) {
    if (phaseOf(rule.kind) !== phase) continue;
    if (rule.op !== '*' && rule.op !== op) continue;
    if (!matches(rule.pathIncludes, path)) continue;
    if (rule.count !== undefined && rule.count <= 0) continue;
    if (Math.random() >= (rule.rate ?? 1)) continue;
    if (rule.count !== undefined) rule.count -= 1;
    return rule;
  }
  return undefined;
}

/** True when an `lroFailed` rule could fire for this call (without using it up). */
export const mayFailLro = (knobs: Knobs, op: string, path: string) =>
  knobs.faults.some(
    (r) =>
      phaseOf(r.kind) === 'lro' &&
      (r.op === '*' || r.op === op) &&
      matches(r.pathIncludes, path) &&
      (r.count === undefined || r.count > 0),
  );

/** The newest override for this call that sets `field`, if any. */
export function overrideFor<K extends keyof Override>(
  knobs: Knobs,
  op: string,
  path: string,
  field: K,
): Override | undefined {
  for (let i = knobs.overrides.length - 1; i >= 0; i--) {
    const o = knobs.overrides[i] as Override;
    if (o[field] === undefined || (o.op && o.op !== op) || !matches(o.pathIncludes, path)) continue;
    return o;
  }
  return undefined;
}

/** The delay before answering this call: a matching override's, else the global table's. */
export function latencyFor(knobs: Knobs, op: string, path: string): number {
  const o = overrideFor(knobs, op, path, 'latencyMs');
  return o ? pick({ '*': o.latencyMs as Duration }, op) : pick(knobs.latencyMs, op, path);
}

/** How long a long-running operation started by this call stays InProgress (before any hold). */
export function lroDurationFor(knobs: Knobs, op: string, path: string): number {
  const o = overrideFor(knobs, op, path, 'lroMs');
  return o ? pick({ '*': o.lroMs as Duration }, op) : pick(knobs.lroMs, op, path);
}

/** The hold a long-running operation started by this call waits for, if any. */
export function holdFor(knobs: Knobs, op: string, path: string): Override | undefined {
  const o = overrideFor(knobs, op, path, 'hold');
  return o?.hold && !o.released ? o : undefined;
}

/** How long a role assignment takes to reach this vault's data plane: ms, or `held` until a release. */
export function propagationFor(knobs: Knobs, vaultPath: string): number | 'held' {
  const o = overrideFor(knobs, '', vaultPath, 'rbacPropagationMs');
  if (!o) return knobs.rbacPropagationMs;
  if (o.rbacPropagationMs === 'held') return o.released ? 0 : 'held';
  return o.rbacPropagationMs as number;
}

/**
 * The error an `lroFailed` operation ends with: the rule's, else a generic provider failure. Azure's codes for an
 * operation that fails on the provider's side vary by cause; `InternalExecutionError` is the generic one listed in
 * "Understand common error messages when you manage virtual machines in Azure" and says nothing the request could
 * fix, so a client cannot mistake it for a validation error. Tests that need a specific cause pass `errorCode`.
 */
export function lroFailure(rule: FaultRule, op: string): { code: string; message: string } {
  return {
    code: rule.errorCode ?? 'InternalExecutionError',
    message: rule.errorMessage ?? `An internal execution error occurred while processing ${op}. Please retry later.`,
  };
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
    case 'appliedThenReset':
      return json(0);
    case 'lroFailed':
      // Decided after the route ran (lro.ts); never drawn before it.
      throw new Error('lroFailed has no immediate reply');
  }
}
