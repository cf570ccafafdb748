/** The structured logger of worker and API: pino, with every field that can hold a credential redacted. */
import pino from 'pino';

export const REDACT_PATHS = [
  '*.password',
  '*.Password',
  '*.secret',
  '*.secretValue',
  '*.value',
  '*.token',
  '*.authorization',
  '*.clientSecret',
  '*.unicodePwd',
  'req.headers.authorization',
  'headers.authorization',
  'password',
  'token',
];

export function createLogger(level: string, name: string) {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}
export type Logger = ReturnType<typeof createLogger>;
