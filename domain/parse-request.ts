/**
 * One entry for every way a provisioning request arrives (nested JSON or the PowerShell module's flat params):
 * defaults applied, schema and cross-field rules checked, field-level errors on failure.
 */
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { fieldErrors, type FieldError } from './field-errors.js';
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
  if (!errors.length) errors = crossFieldErrors(withDefaults as ProvisionRequest);
  if (errors.length) {
    // Name the field the way the user wrote it.
    if (flat)
      errors = errors.map((e) => ({ field: `/${flatKeyFor(e.field) ?? e.field.slice(1)}`, message: e.message }));
    return { ok: false, errors };
  }
  return { ok: true, request: withDefaults as ProvisionRequest };
}

/** Rules a JSON schema cannot say. */
function crossFieldErrors(r: ProvisionRequest): FieldError[] {
  const errors: FieldError[] = [];
  if (r.gmsa.name.toLowerCase() === r.gmsa.standardUser.toLowerCase()) {
    errors.push({ field: '/gmsa/standardUser', message: 'must differ from the gMSA name' });
  }
  return errors;
}
