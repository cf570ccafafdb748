/**
 * Last line of defence for error text that reaches progress, logs and API answers: activities already keep
 * secrets out of their messages, but a library's error may quote a request. Removes what looks like a credential.
 */
const PATTERNS: [RegExp, string][] = [
  // Authorization headers and bearer tokens.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]'],
  // key=value or "key": "value" where the key names a credential.
  [
    /\b((?:client_?)?secret|password|passwd|pwd|token|api_?key|unicodePwd)("?\s*[:=]\s*"?)[^\s",;&]+/gi,
    '$1$2[redacted]',
  ],
  // The CCG secret format DOMAIN\user:password.
  [/\b([A-Za-z0-9.-]+\\[^\s\\:"]+):\S+/g, '$1:[redacted]'],
  // SAS signatures in URLs.
  [/([?&]sig=)[^&\s]+/gi, '$1[redacted]'],
];

export function scrub(text: string): string {
  return PATTERNS.reduce((t, [re, to]) => t.replace(re, to), text);
}
