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

/** `destination`: where lines go (stdout by default; tests capture them to prove no secret is logged). */
export function createLogger(level: string, name: string, destination?: pino.DestinationStream) {
  const options = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
export type Logger = ReturnType<typeof createLogger>;
