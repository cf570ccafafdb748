/**
 * GMSA_TRUST_PROXY: which proxies in front of the API are believed about the client's address (X-Forwarded-For),
 * as Fastify's `trustProxy` takes it. The failed-authentication throttle counts per client address: behind an
 * ingress without this, every client is the ingress.
 */
import { isIP } from 'node:net';
import { ConfigError, optional } from './env.js';

export const TRUST_PROXY_VARIABLE = 'GMSA_TRUST_PROXY';

/**
 * false (default), true (every hop), or the proxies' addresses and CIDR ranges. No hop count: Fastify 5 takes one
 * but trusts nothing with it (it cannot check the immediate peer), so it would silently count the ingress.
 */
export type TrustProxy = boolean | string[];

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (!family || rest.length) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

export function readTrustProxy(env: NodeJS.ProcessEnv = process.env): TrustProxy {
  const v = optional(env, TRUST_PROXY_VARIABLE);
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) {
    throw new ConfigError(
      TRUST_PROXY_VARIABLE,
      'a hop count is not honoured (Fastify trusts no hop by count): name the proxies, e.g. 10.0.0.0/8',
    );
  }
  const entries = v
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const bad = entries.filter((e) => !isAddressOrCidr(e));
  if (bad.length) {
    throw new ConfigError(
      TRUST_PROXY_VARIABLE,
      `is false, true or a comma list of proxy addresses and CIDRs; not an address: ${bad.join(', ')}`,
    );
  }
  return entries;
}
