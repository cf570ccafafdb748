/**
 * The approval key (GMSA_APPROVAL_KEY, base64, or GMSA_APPROVAL_KEY_FILE): the secret the API signs approvals with
 * and the worker checks them with (temporal/approval-proof.ts). Both processes hold the same key; nobody else may.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, optional } from './env.js';

export const APPROVAL_KEY_VARIABLE = 'GMSA_APPROVAL_KEY';
export const APPROVAL_KEY_FILE_VARIABLE = 'GMSA_APPROVAL_KEY_FILE';
/** HMAC-SHA256's own block of security: a shorter key is refused. */
export const MIN_APPROVAL_KEY_BYTES = 32;

/** A fresh key as the variable or the file holds it. */
export function generateApprovalKey(): string {
  return randomBytes(MIN_APPROVAL_KEY_BYTES).toString('base64');
}

function decodeKey(text: string, variable: string): Buffer {
  const b64 = text.trim();
  // Buffer.from skips what is not base64; a typo must be an error, not a shorter key.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) && !/^[A-Za-z0-9_-]+$/.test(b64))
    throw new ConfigError(variable, 'must be base64');
  const key = Buffer.from(b64, 'base64');
  if (key.length < MIN_APPROVAL_KEY_BYTES) {
    throw new ConfigError(
      variable,
      `must be at least ${MIN_APPROVAL_KEY_BYTES} bytes (base64 of random bytes; ` +
        `node -e "console.log(require('crypto').randomBytes(32).toString('base64'))")`,
    );
  }
  return key;
}

/** The key, or undefined when neither variable is set (the API then refuses to approve; the worker refuses approvals). */
export function readApprovalKey(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const inline = optional(env, APPROVAL_KEY_VARIABLE);
  const file = optional(env, APPROVAL_KEY_FILE_VARIABLE);
  if (inline && file)
    throw new ConfigError(
      APPROVAL_KEY_VARIABLE,
      `set ${APPROVAL_KEY_VARIABLE} or ${APPROVAL_KEY_FILE_VARIABLE}, not both`,
    );
  if (inline) return decodeKey(inline, APPROVAL_KEY_VARIABLE);
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(APPROVAL_KEY_FILE_VARIABLE, `cannot read ${file}: ${(err as Error).message}`);
  }
  return decodeKey(text, APPROVAL_KEY_FILE_VARIABLE);
}
