/**
 * One entry for every way a provisioning request arrives (nested JSON or the PowerShell module's flat params):
 * defaults applied, the schema and the activities' own name rules (domain/naming.ts) checked, field-level errors on
 * failure.
 */
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { fieldErrors, type FieldError } from './field-errors.js';
import { nameProblem, REQUEST_NAME_FIELDS } from './naming.js';
import { ADOPT_KINDS } from './ownership.js';
import { flatKeyFor, fromPowerShellParams, isPowerShellParams } from './powershell-params.js';
import { ProvisionRequestSchema, type ProvisionRequest } from './request.js';

const check = Compile(ProvisionRequestSchema);

export type ParseResult = { ok: true; request: ProvisionRequest } | { ok: false; errors: FieldError[] };

export interface ParseDefaults {
  /** Used when the request names no subscription (the PowerShell params have none). */
  subscriptionId?: string;
}

export function parseProvisionRequest(body: unknown, defaults: ParseDefaults = {}): ParseResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, errors: [{ field: '/', message: 'must be a JSON object' }] };
  }
  const flat = isPowerShellParams(body);
  let input: Record<string, unknown>;
  if (flat) {
    const converted = fromPowerShellParams(body);
    if (converted.errors.length) return { ok: false, errors: converted.errors };
    input = converted.nested;
  } else {
    input = structuredClone(body as Record<string, unknown>);
  }
  const cluster = input.cluster as Record<string, unknown> | undefined;
  if (cluster && typeof cluster === 'object' && cluster.subscriptionId === undefined && defaults.subscriptionId) {
    cluster.subscriptionId = defaults.subscriptionId;
  }

  const withDefaults = Value.Default(ProvisionRequestSchema, input);
  let errors = check.Check(withDefaults) ? [] : fieldErrors(ProvisionRequestSchema, check.Errors(withDefaults));
  errors = withNameErrors(
    withDefaults,
    errors.map((e) => clearer(e, withDefaults)),
  );
  if (errors.length) {
    // Name the field the way the user wrote it.
    if (flat)
      errors = errors.map((e) => ({ field: `/${flatKeyFor(e.field) ?? e.field.slice(1)}`, message: e.message }));
    return { ok: false, errors };
  }
  return { ok: true, request: withDefaults as ProvisionRequest };
}

/** Reads a JSON pointer's value. */
function at(root: unknown, pointer: string): unknown {
  let node = root;
  for (const part of pointer.split('/').slice(1)) {
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined;
  }
  return node;
}

/**
 * The activities' own name checks (domain/naming.ts) on every name field: what a pattern cannot say (well-known
 * accounts, case-blind) is refused before anything starts, and the field gets the very sentence the step would
 * say (the schema checks the same lengths and pattern, so it refuses nothing these accept).
 */
function withNameErrors(request: unknown, errors: readonly FieldError[]): FieldError[] {
  const out = [...errors];
  for (const [field, rule] of REQUEST_NAME_FIELDS) {
    const value = at(request, field);
    const problem = typeof value === 'string' ? nameProblem(rule, value) : undefined;
    if (!problem) continue;
    const i = out.findIndex((e) => e.field === field);
    if (i >= 0) out[i] = { field, message: problem };
    else out.push({ field, message: problem });
  }
  return out;
}

/** Refusals the schema words too generally: a missing enableGmsaOnCluster, a wrong options.adopt entry. */
function clearer(e: FieldError, request: unknown): FieldError {
  if (e.field === '/options/enableGmsaOnCluster' && at(request, e.field) === undefined) {
    return {
      field: e.field,
      message:
        'is required (true or false): enabling gMSA on the cluster reimages its Windows nodes, so say whether this run may',
    };
  }
  if (!/^\/options\/adopt\/\d+$/.test(e.field)) return e;
  return {
    field: e.field,
    message: `${JSON.stringify(at(request, e.field))} is not a kind options.adopt knows; the kinds are ${ADOPT_KINDS.join(', ')}`,
  };
}
