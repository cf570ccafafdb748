/**
 * Replays one x-ms-examples request of an official REST spec against the fake and lists where the answer breaks
 * the spec: a status code the operation does not list, a long-running operation's 201/202 (or a non-terminal
 * provisioningState) without its polling header, a body that does not validate against the response schema, or
 * read-only properties the example shows and the fake leaves out; then a long-running operation followed to its end
 * (see `follow`).
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { createAzureCredential } from '../../../../activities/azure/connect.js';
import { azureLabSettings, labConnection } from '../../../support/azure-lab.js';
import { loadJson, missingReadOnly, refFile, SPECS_ROOT, validate, type Schema } from './swagger.js';

interface Parameter {
  $ref?: string;
  name?: string;
  in?: string;
  schema?: Schema;
  'x-ms-skip-url-encoding'?: boolean;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  responses: Record<string, { schema?: Schema; headers?: Record<string, unknown> }>;
  'x-ms-long-running-operation'?: boolean;
  'x-ms-long-running-operation-options'?: { 'final-state-via'?: string };
  'x-ms-examples'?: Record<string, { $ref: string }>;
}

export interface Example {
  parameters: Record<string, unknown>;
  responses: Record<string, { body?: unknown; headers?: Record<string, string> }>;
}

export interface Arranged {
  /** Example parameters replaced by lab values (path, query or body parameters, by the spec's names). */
  params?: Record<string, unknown>;
  /** Strings replaced everywhere in the example's parameters, e.g. its subscription id inside a role id. */
  replace?: Record<string, string>;
  /** Where the request goes when not to ARM (a vault's data-plane URI). */
  baseUrl?: string;
  audience?: string;
  /** Request headers the spec declares as parameters (e.g. `if-match`), sent as given. */
  headers?: Record<string, string>;
  /**
   * Read-only properties the example shows that Azure returns only for another kind of resource (each with its
   * reason beside it in the case): not reported missing. Every other check still applies to them.
   */
  notReturned?: string[];
}

export interface Replayed {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  problems: string[];
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Canceled']);

export function findOperation(specFile: string, operationId: string) {
  const file = path.join(SPECS_ROOT, specFile);
  const doc = loadJson(file) as { paths: Record<string, Record<string, Operation>> };
  for (const [template, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (op.operationId === operationId) return { file, template, method: method.toUpperCase(), op };
    }
  }
  throw new Error(`${operationId} is not in ${specFile}`);
}

function resolveParam(p: Parameter, file: string): Parameter {
  if (!p.$ref) return p;
  let node: unknown = loadJson(refFile(p.$ref, file));
  for (const seg of (p.$ref.split('#')[1] ?? '').split('/').filter(Boolean))
    node = (node as Record<string, unknown> | undefined)?.[seg];
  if (!node) throw new Error(`unresolved parameter ${p.$ref}`);
  return node as Parameter;
}

function deepReplace<T>(value: T, replace: Record<string, string>): T {
  let text = JSON.stringify(value);
  for (const [from, to] of Object.entries(replace)) text = text.split(from).join(to);
  return JSON.parse(text) as T;
}

const ca = () => readFileSync(azureLabSettings().AZURE_CA_FILE as string);

async function bearer(audience: string): Promise<string> {
  const token = await createAzureCredential(labConnection()).getToken(`${audience.replace(/\/$/, '')}/.default`);
  if (!token) throw new Error(`no token for ${audience}`);
  return token.token;
}

function send(url: URL, method: string, token: string, body: unknown, extra: Record<string, string> = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<{ status: number; headers: Replayed['headers']; text: string }>((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: ca(),
        timeout: 15_000,
        headers: {
          ...extra,
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The example file an operation names in its x-ms-examples, by file name. */
export function loadExample(specFile: string, operationId: string, exampleFile: string): Example {
  const { file, op } = findOperation(specFile, operationId);
  const listed = Object.values(op['x-ms-examples'] ?? {}).find((e) => path.basename(e.$ref) === exampleFile);
  if (!listed) throw new Error(`${operationId} in ${specFile} lists no example ${exampleFile}`);
  return loadJson(path.resolve(path.dirname(file), listed.$ref)) as unknown as Example;
}

export async function replay(
  specFile: string,
  operationId: string,
  exampleFile: string,
  a: Arranged,
): Promise<Replayed> {
  const { file, template, method, op } = findOperation(specFile, operationId);
  const example = loadExample(specFile, operationId, exampleFile);
  const values = deepReplace({ ...example.parameters, ...(a.params ?? {}) }, a.replace ?? {});
  const params = (op.parameters ?? []).map((p) => resolveParam(p, file));
  const urlPath = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const p = params.find((q) => q.name === name && q.in === 'path');
    const v = values[name];
    if (v === undefined) throw new Error(`${exampleFile}: no value for path parameter ${name}`);
    return p?.['x-ms-skip-url-encoding'] ? String(v).replace(/^\//, '') : encodeURIComponent(String(v));
  });
  const base = (a.baseUrl ?? azureLabSettings().AZURE_ARM_ENDPOINT) as string;
  const url = new URL(urlPath.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`);
  for (const p of params.filter((q) => q.in === 'query' && values[q.name as string] !== undefined)) {
    url.searchParams.set(p.name as string, String(values[p.name as string]));
  }
  const bodyParam = params.find((p) => p.in === 'body');
  const token = await bearer(a.audience ?? (azureLabSettings().AZURE_ARM_ENDPOINT as string));
  const res = await send(url, method, token, bodyParam ? values[bodyParam.name as string] : undefined, a.headers);
  let body: unknown;
  try {
    body = res.text ? JSON.parse(res.text) : undefined;
  } catch {
    body = res.text;
  }
  const problems: string[] = [];
  for (const h of Object.keys(a.headers ?? {})) {
    if (!params.some((p) => p.in === 'header' && p.name?.toLowerCase() === h.toLowerCase()))
      problems.push(`request header ${h} is not a parameter of ${operationId}`);
  }
  // A body the test wrote in place of the example's (the product's own request) must itself be one the spec allows.
  if (bodyParam?.schema && a.params?.[bodyParam.name as string] !== undefined) {
    validate({ schema: bodyParam.schema, file }, values[bodyParam.name as string], 'request', problems);
  }
  const listed = Object.keys(op.responses).filter((k) => k !== 'default');
  const response = op.responses[String(res.status)];
  if (!listed.includes(String(res.status))) {
    problems.push(
      `status ${res.status} is not one the spec lists (${listed.join(', ')}); body ${res.text.slice(0, 300)}`,
    );
  }
  const state = (body as { properties?: { provisioningState?: string } } | undefined)?.properties?.provisioningState;
  if (
    op['x-ms-long-running-operation'] &&
    (res.status === 201 || res.status === 202 || (state && !TERMINAL.has(state)))
  ) {
    const via = op['x-ms-long-running-operation-options']?.['final-state-via'];
    const declared = Object.keys(response?.headers ?? {}).filter((h) => /^(location|azure-asyncoperation)$/i.test(h));
    const want = declared.length
      ? declared
      : via === 'location'
        ? ['Location']
        : via === 'azure-async-operation'
          ? ['Azure-AsyncOperation']
          : [];
    for (const h of want) {
      if (!res.headers[h.toLowerCase()])
        problems.push(`long-running ${res.status} without the ${h} header the spec declares`);
    }
    if (!want.length && !res.headers['azure-asyncoperation'] && !res.headers.location) {
      problems.push(`long-running ${res.status} with neither Azure-AsyncOperation nor Location`);
    }
  }
  if (response?.schema) {
    const schema = { schema: response.schema, file };
    if (body === undefined) problems.push(`status ${res.status} has a response schema but the body is empty`);
    else {
      validate(schema, body, 'body', problems);
      const shown = (example.responses[String(res.status)] ?? Object.values(example.responses)[0])?.body;
      if (shown !== undefined) missingReadOnly(schema, shown, body, 'body', problems);
    }
  }
  if (op['x-ms-long-running-operation'] && (res.headers['azure-asyncoperation'] || res.headers.location)) {
    await follow({ op, file, method, url, token, example, res }, problems);
  }
  const skip = (a.notReturned ?? []).flatMap((n) => [`body.${n}: read-only`, `result.${n}: read-only`]);
  const kept = problems.filter((p) => !skip.some((s) => p.startsWith(s)));
  return { status: res.status, headers: res.headers, body, problems: kept };
}

const POLL_MS = 25;
const LRO_DEADLINE_MS = 20_000;
const header = (h: Replayed['headers'], name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};
const parse = (text: string): unknown => {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
};

/** GETs `url` until `done` says so or the deadline passes (then undefined): polling for a state, not a sleep. */
async function pollUntil(url: string, token: string, done: (r: { status: number; text: string }) => boolean) {
  const end = Date.now() + LRO_DEADLINE_MS;
  for (;;) {
    const r = await send(new URL(url), 'GET', token, undefined);
    if (done(r)) return r;
    if (Date.now() > end) return undefined;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Follows a long-running operation the way ARM clients do ("Track asynchronous Azure operations"; the spec's
 * `final-state-via`): the Azure-AsyncOperation status monitor answers 200 with `status` until it is terminal and
 * must end `Succeeded`; the result is then read from Location (final-state-via location, or a Location-only
 * operation, which answers 202 until done) or from the resource's own URL (a PUT or PATCH), and must be the
 * operation's 200 body as the spec describes it, with a terminal provisioningState.
 */
async function follow(
  c: {
    op: Operation;
    file: string;
    method: string;
    url: URL;
    token: string;
    example: Example;
    res: { headers: Replayed['headers'] };
  },
  problems: string[],
) {
  const monitor = header(c.res.headers, 'azure-asyncoperation');
  const location = header(c.res.headers, 'location');
  if (monitor) {
    const r = await pollUntil(
      monitor,
      c.token,
      (a) => a.status !== 200 || TERMINAL.has(String((parse(a.text) as { status?: unknown } | undefined)?.status)),
    );
    if (!r) return void problems.push(`Azure-AsyncOperation: not terminal within ${LRO_DEADLINE_MS} ms`);
    const status = (parse(r.text) as { status?: unknown; error?: { code?: string } } | undefined) ?? {};
    if (r.status !== 200) return void problems.push(`Azure-AsyncOperation answered ${r.status}, not 200`);
    if (status.status !== 'Succeeded')
      return void problems.push(
        `the operation ended ${String(status.status)} (${status.error?.code ?? 'no error code'})`,
      );
  }
  const via = c.op['x-ms-long-running-operation-options']?.['final-state-via'];
  let final: { status: number; text: string } | undefined;
  if (location && (via === 'location' || !monitor)) {
    final = await pollUntil(location, c.token, (a) => a.status !== 202);
    if (!final) return void problems.push(`Location: still 202 after ${LRO_DEADLINE_MS} ms`);
  } else if (c.method === 'PUT' || c.method === 'PATCH') {
    final = await send(c.url, 'GET', c.token, undefined);
  } else return;
  const schema = c.op.responses['200']?.schema;
  if (final.status === 204 || (final.status === 200 && !schema)) return;
  if (final.status !== 200 || !schema) return void problems.push(`the operation's result answered ${final.status}`);
  const body = parse(final.text);
  const located = { schema, file: c.file };
  validate(located, body, 'result', problems);
  const shown = c.example.responses['200']?.body;
  if (shown !== undefined) missingReadOnly(located, shown, body, 'result', problems);
  const state = (body as { properties?: { provisioningState?: string } } | undefined)?.properties?.provisioningState;
  if (state !== undefined && !/^succeeded$/i.test(state))
    problems.push(`the result's provisioningState is ${state} after the operation succeeded`);
}
