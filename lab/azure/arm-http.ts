/** The small HTTP vocabulary of the fake: replies, ARM error bodies and request parsing. */
import type { IncomingMessage } from 'node:http';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Request {
  method: string;
  /** The path with `//` collapsed: some modular ARM clients join endpoint and path with an extra slash. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** The caller's token claims, once authenticated. */
  caller?: { oid: string; tid: string; appid: string };
  /** The https origin the client used, for URLs the fake hands back (operation status, vaultUri). */
  origin: string;
  /** When the request arrived (ms): a write began then, for the vaults' optimistic concurrency. */
  receivedAt: number;
}

export const json = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  headers,
});

/** ARM's error envelope: `{ error: { code, message } }`. */
export const armError = (status: number, code: string, message: string, headers?: Record<string, string>): Reply =>
  json(status, { error: { code, message } }, headers);

export const notFound = (type: string, name: string, rg: string) =>
  armError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );

/**
 * ARM's tag limits ("Tag resources", Azure Resource Manager docs): 50 name/value pairs a resource, names up to
 * 512 characters without `<>%&\?/`, values up to 256. Microsoft documents the limits, not the reply; the codes
 * and texts here are the fake's, in ARM's error envelope.
 */
export function tagsError(body: unknown): Reply | undefined {
  const tags = (body as { tags?: unknown } | undefined)?.tags;
  if (!tags || typeof tags !== 'object') return undefined;
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > 50) {
    return armError(400, 'InvalidTagCount', `The resource has ${entries.length} tags; at most 50 are allowed.`);
  }
  const badName = entries.find(
    ([k]) => k.length > 512 || /[<>%&\\?/]/.test(k) || [...k].some((c) => c.charCodeAt(0) < 0x20),
  );
  if (badName) {
    return armError(
      400,
      'InvalidTagNameCharacters',
      `The tag names '${badName[0]}' have reserved characters '<,>,%,&,\\,?,/' or control characters, or are longer than 512 characters.`,
    );
  }
  const badValue = entries.find(([, v]) => typeof v !== 'string' || v.length > 256);
  if (badValue) {
    return armError(400, 'InvalidTagValueLength', `The value of tag '${badValue[0]}' is longer than 256 characters.`);
  }
  return undefined;
}

export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
