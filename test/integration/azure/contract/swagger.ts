/**
 * The Swagger 2.0 subset the Azure REST specs use for response bodies, as a small validator: `$ref` across files
 * (common-types resolved under the fixtures' own common-types/), `allOf`, object/array/scalar types, `required`,
 * `enum`, the `uuid`/`date-time`/integer formats, `x-nullable`, `additionalProperties`; plus the check the examples
 * add: a read-only property an example response shows must be in the actual response. Written here rather than
 * pulling in a JSON-schema library: Swagger 2.0 is not JSON Schema (readOnly, x-nullable, cross-file refs).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../../lab/paths.js';

export const SPECS_ROOT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'azure-specs');

export type Schema = Record<string, unknown> & {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  allOf?: Schema[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  format?: string;
  readOnly?: boolean;
  'x-nullable'?: boolean;
};

/** A schema together with the file its relative `$ref`s are resolved from. */
interface Located {
  schema: Schema;
  file: string;
}

const files = new Map<string, Record<string, unknown>>();

export function loadJson(file: string): Record<string, unknown> {
  let doc = files.get(file);
  if (!doc) {
    doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    files.set(file, doc);
  }
  return doc;
}

/**
 * The file a `$ref` names. The ARM common-types (`…/common-types/resource-management/…`) live at the root of the
 * fixtures, wherever the ref climbs from; a service's own common-types (Compute's `../../../common-types/v1/…`) live
 * under that service's folder here.
 */
export function refFile(ref: string, from: string): string {
  const target = ref.split('#')[0] as string;
  if (!target) return from;
  const arm = target.indexOf('common-types/resource-management/');
  if (arm >= 0) return path.join(SPECS_ROOT, target.slice(arm));
  const own = target.indexOf('common-types/');
  if (own >= 0) {
    const service = path.relative(SPECS_ROOT, from).split(path.sep)[0] as string;
    return path.join(SPECS_ROOT, service, target.slice(own));
  }
  return path.resolve(path.dirname(from), target);
}

export function resolve(s: Located): Located {
  let cur = s;
  for (let depth = 0; cur.schema.$ref; depth++) {
    if (depth > 32) throw new Error(`$ref loop at ${cur.schema.$ref}`);
    const ref = cur.schema.$ref;
    const file = refFile(ref, cur.file);
    const pointer = (ref.split('#')[1] ?? '').split('/').filter(Boolean);
    let node: unknown = loadJson(file);
    for (const p of pointer) node = (node as Record<string, unknown> | undefined)?.[p];
    if (!node) throw new Error(`unresolved $ref ${ref} from ${path.relative(SPECS_ROOT, cur.file)}`);
    // Siblings of a $ref (readOnly, x-nullable) apply to the referenced schema too.
    const { $ref: _r, ...siblings } = cur.schema;
    cur = { schema: { ...(node as Schema), ...siblings }, file };
  }
  return cur;
}

/** Properties and required names of a schema with its allOf parents folded in (each with its own file). */
function flatten(s: Located): { props: Map<string, Located>; required: Set<string>; located: Located[] } {
  const r = resolve(s);
  const props = new Map<string, Located>();
  const required = new Set<string>();
  const located = [r];
  for (const parent of r.schema.allOf ?? []) {
    const f = flatten({ schema: parent, file: r.file });
    f.props.forEach((v, k) => props.set(k, v));
    f.required.forEach((k) => required.add(k));
    located.push(...f.located);
  }
  for (const [k, v] of Object.entries(r.schema.properties ?? {})) props.set(k, { schema: v, file: r.file });
  (r.schema.required ?? []).forEach((k) => required.add(k));
  return { props, required, located };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Every way `value` breaks `schema`, each as `<path>: <problem>`. */
export function validate(s: Located, value: unknown, at: string, out: string[] = []): string[] {
  const { props, required, located } = flatten(s);
  const schema = located[0]?.schema as Schema;
  const type = schema.type ?? (props.size || schema.additionalProperties ? 'object' : undefined);
  if (value === null) {
    if (!located.some((l) => l.schema['x-nullable'] === true)) out.push(`${at}: null where the spec has no x-nullable`);
    return out;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  switch (type) {
    case 'object': {
      if (kind(value) !== 'object') {
        out.push(`${at}: expected an object, got ${kind(value)}`);
        return out;
      }
      const obj = value as Record<string, unknown>;
      for (const name of required) if (obj[name] === undefined) out.push(`${at}.${name}: required, missing`);
      for (const [k, v] of Object.entries(obj)) {
        const p = props.get(k);
        if (p) validate(p, v, `${at}.${k}`, out);
        else if (schema.additionalProperties === false) out.push(`${at}.${k}: not allowed by the spec`);
        else if (typeof schema.additionalProperties === 'object')
          validate({ schema: schema.additionalProperties, file: located[0]?.file as string }, v, `${at}.${k}`, out);
      }
      return out;
    }
    case 'array':
      if (!Array.isArray(value)) out.push(`${at}: expected an array, got ${kind(value)}`);
      else if (schema.items)
        value.forEach((v, i) =>
          validate({ schema: schema.items as Schema, file: located[0]?.file as string }, v, `${at}[${i}]`, out),
        );
      return out;
    case 'string':
      if (typeof value !== 'string') out.push(`${at}: expected a string, got ${kind(value)}`);
      else if (schema.format === 'uuid' && !UUID.test(value)) out.push(`${at}: ${JSON.stringify(value)} is not a uuid`);
      else if (schema.format === 'date-time' && !DATE_TIME.test(value))
        out.push(`${at}: ${JSON.stringify(value)} is not an RFC 3339 date-time`);
      return out;
    case 'integer':
      if (!Number.isInteger(value)) out.push(`${at}: expected an integer, got ${JSON.stringify(value)}`);
      return out;
    case 'number':
      if (typeof value !== 'number') out.push(`${at}: expected a number, got ${kind(value)}`);
      return out;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${at}: expected a boolean, got ${kind(value)}`);
      return out;
    default:
      return out;
  }
}

const isReadOnly = (p: Located) => p.schema.readOnly === true || resolve(p).schema.readOnly === true;

/** Read-only properties the example response shows that the actual response lacks (service-set state it must return). */
export function missingReadOnly(
  s: Located,
  example: unknown,
  actual: unknown,
  at: string,
  out: string[] = [],
): string[] {
  if (kind(example) === 'array' && kind(actual) === 'array') {
    const [e] = example as unknown[];
    const [a] = actual as unknown[];
    const r = resolve(s);
    if (e !== undefined && a !== undefined && r.schema.items)
      missingReadOnly({ schema: r.schema.items, file: r.file }, e, a, `${at}[0]`, out);
    return out;
  }
  if (kind(example) !== 'object' || kind(actual) !== 'object') return out;
  const { props } = flatten(s);
  const act = actual as Record<string, unknown>;
  for (const [k, v] of Object.entries(example as Record<string, unknown>)) {
    const p = props.get(k);
    if (!p) continue;
    if (act[k] === undefined) {
      if (isReadOnly(p)) out.push(`${at}.${k}: read-only, shown by the example, missing`);
      continue;
    }
    missingReadOnly(p, v, act[k], `${at}.${k}`, out);
  }
  return out;
}
