/**
 * What says a retry can help, for every activity's error classifier: the connection-level error codes a later
 * attempt may not meet, and a server's Retry-After.
 *
 * ENOTFOUND is not transient. Node reports a DNS lookup that failed for now (a resolver timeout, SERVFAIL, no
 * reachable name server) as EAI_AGAIN, which is retried; ENOTFOUND is getaddrinfo's EAI_NONAME, the resolver's
 * answer that the name does not exist. That answer does not heal: a mistyped AD_URL, kubeconfig server or vault
 * name would spend the step's whole retry budget before anyone saw it. So it fails at once, as NotConfigured,
 * naming the host setting to check.
 */

/** Codes (Node's sockets and DNS, undici, the Azure SDK's send error) of a request that did not get through. */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'REQUEST_SEND_ERROR',
]);

/** The resolver said the host name does not exist (see above: fatal, not transient). */
export const UNRESOLVABLE_HOST_CODE = 'ENOTFOUND';

/** The system error code of `e` or of its cause (fetch and the SDKs wrap the socket's error), or ''. */
export function networkCode(e: unknown): string {
  const own = (e as { code?: unknown } | undefined)?.code;
  if (typeof own === 'string' && own) return own;
  const cause = (e as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof cause === 'string' ? cause : '';
}

export const isTransientNetworkCode = (code: string) => TRANSIENT_NETWORK_CODES.has(code);

/**
 * A server's Retry-After, in ms, from a header lookup (`name` is lower case; pass a case-insensitive getter).
 * Azure's `retry-after-ms` and `x-ms-retry-after-ms` win when present (ARM and Key Vault send them); otherwise
 * `Retry-After` as RFC 9110 section 10.2.3 defines it: delay-seconds, or an HTTP-date (counted from `now`).
 * Undefined when the server sent none or nothing readable.
 */
export function retryAfterMs(header: (name: string) => string | undefined, now = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = header(name)?.trim();
    if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  }
  const value = header('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // Every HTTP-date form (IMF-fixdate and the two obsolete ones) starts with the day's name; Date.parse alone would
  // also take "-3" as a year.
  const at = /^[A-Za-z]/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A case-insensitive getter over a plain header record (what @kubernetes/client-node's ApiException carries). */
export const headerOf =
  (headers: Record<string, string | string[] | undefined> | undefined) =>
  (name: string): string | undefined => {
    if (!headers) return undefined;
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    const v = key === undefined ? undefined : headers[key];
    return Array.isArray(v) ? v[0] : v;
  };
