/**
 * Where the CLI sends requests and with which token: --url/--token, then GMSA_API_URL/GMSA_API_TOKEN, then (the lab
 * default) the lab's `.lab/lab.env`, taking the token of the role the command needs. Token values never leave this
 * module except in the Authorization header; `tokenSource` says where one came from, for messages.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTokenSpec, type Role } from '../config/api-tokens.js';
import { UsageError } from './errors.js';

export type { Role };

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Target {
  url: string;
  token?: string;
  /** Where the token came from, e.g. "GMSA_API_TOKEN"; safe to print. */
  tokenSource: string;
}

/** The lab's settings file; GMSA_LAB_DIR moves it, as it moves the rest of the lab. */
export function labEnvFile(env: NodeJS.ProcessEnv): string {
  return path.join(env.GMSA_LAB_DIR || path.join(PROJECT_ROOT, '.lab'), 'lab.env');
}

export function resolveTarget(
  flags: { url?: string; token?: string },
  role: Role,
  env: NodeJS.ProcessEnv = process.env,
): Target {
  let url = flags.url ?? (env.GMSA_API_URL || undefined);
  let token: string | undefined;
  let tokenSource = 'none';
  if (flags.token !== undefined) [token, tokenSource] = [flags.token, '--token'];
  else if (env.GMSA_API_TOKEN) [token, tokenSource] = [env.GMSA_API_TOKEN, 'GMSA_API_TOKEN'];
  else {
    const file = labEnvFile(env);
    if (existsSync(file)) {
      const lab = parseEnvFile(readFileSync(file, 'utf8'));
      url ??= lab.GMSA_API_URL || undefined;
      let picked: ReturnType<typeof pickToken>;
      try {
        picked = pickToken(lab.GMSA_API_TOKENS ?? '', role);
      } catch (err) {
        // The parser's words name the rule, never a token.
        throw new UsageError(`the lab's ${(err as Error).message} (${file})`);
      }
      if (!picked) throw new UsageError(`the lab's GMSA_API_TOKENS (${file}) has no ${role} token; set GMSA_API_TOKEN`);
      [token, tokenSource] = [picked.token, `the lab's ${picked.role} token (.lab/lab.env)`];
    }
  }
  if (token === undefined || token === '') {
    throw new UsageError('no API token: set GMSA_API_TOKEN or pass --token (or start the lab with npm start)');
  }
  return { url: checkUrl(url ?? DEFAULT_API_URL), token, tokenSource };
}

function checkUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`the API URL is not a URL: ${raw}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`the API URL must be http(s): ${raw}`);
  return raw.replace(/\/+$/, '');
}

/**
 * The token of `role` in a GMSA_API_TOKENS list, read by the API's own parser. Reading needs any role, so a viewer
 * command falls back to another role's token.
 */
export function pickToken(spec: string, role: Role): { role: Role; token: string } | undefined {
  const entries = parseTokenSpec(spec).map(({ role, token }) => ({ role, token }));
  return entries.find((e) => e.role === role) ?? (role === 'viewer' ? entries[0] : undefined);
}

/** `KEY=value` lines of a shell file as the lab writes it (`export K='v'`, with `'\''` for a quote). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = shellWord(m[2]!.trim());
  }
  return out;
}

/** One shell word: single-quoted, double-quoted and bare pieces joined, stopping at whitespace or a comment. */
function shellWord(v: string): string {
  let out = '';
  let i = 0;
  while (i < v.length) {
    const c = v[i]!;
    if (c === "'") {
      const end = v.indexOf("'", i + 1);
      out += v.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? v.length : end + 1;
    } else if (c === '"') {
      i++;
      while (i < v.length && v[i] !== '"') {
        if (v[i] === '\\' && i + 1 < v.length && '"\\$`'.includes(v[i + 1]!)) i++;
        out += v[i++];
      }
      i++;
    } else if (c === '\\') {
      out += v[i + 1] ?? '';
      i += 2;
    } else if (/\s/.test(c)) {
      break;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
