/** Turns schema errors into the field-level messages the API returns (RFC 9457 `errors[]`). */
import type { TSchema } from 'typebox';

export interface FieldError {
  /** JSON pointer of the offending field, e.g. `/gmsa/name`. */
  field: string;
  message: string;
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** The sub-schema at a JSON pointer, following object properties and array items. */
function schemaAt(schema: TSchema, pointer: string): Record<string, unknown> | undefined {
  let node: Record<string, unknown> | undefined = schema as Record<string, unknown>;
  for (const part of pointer.split('/').slice(1)) {
    const props = node?.properties as Record<string, Record<string, unknown>> | undefined;
    node = props?.[part] ?? (/^\d+$/.test(part) ? (node?.items as Record<string, unknown>) : undefined);
  }
  return node;
}

export function fieldErrors(schema: TSchema, errors: Iterable<SchemaError>): FieldError[] {
  const out = new Map<string, FieldError>();
  for (const e of errors) {
    // 'boolean' repeats what the additionalProperties error says; 'const' is one failed branch of a union (anyOf below).
    if (e.keyword === 'boolean' || e.keyword === 'const') continue;
    const field = e.instancePath || '/';
    let message: string;
    if (e.keyword === 'additionalProperties') {
      const names = (e.params.additionalProperties as string[]) ?? [];
      for (const name of names) {
        const f = `${e.instancePath}/${name}`;
        out.set(f, { field: f, message: 'unknown field' });
      }
      continue;
    } else if (e.keyword === 'required') {
      const names = (e.params.requiredProperties as string[]) ?? [];
      for (const name of names) {
        const f = `${e.instancePath}/${name}`;
        out.set(f, { field: f, message: 'is required' });
      }
      continue;
    } else if (e.keyword === 'anyOf') {
      const branches = (schemaAt(schema, field)?.anyOf as { const?: unknown }[] | undefined) ?? [];
      const values = branches.map((b) => JSON.stringify(b.const));
      message = values.length ? `must be one of ${values.join(', ')}` : e.message;
    } else {
      const rule = schemaAt(schema, field)?.['x-rule'];
      message = typeof rule === 'string' ? `must be ${rule}` : e.message;
      if (e.keyword === 'maxLength' || e.keyword === 'minLength') message = `${e.message}: ${message}`;
    }
    if (!out.has(field)) out.set(field, { field, message });
  }
  return [...out.values()];
}
