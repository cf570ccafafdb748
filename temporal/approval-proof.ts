/**
 * The proof that an approval came from the API's approver role: an HMAC-SHA256, with a key only the API and the
 * worker hold (GMSA_APPROVAL_KEY), over the run's workflow id and what was approved, by whom, when. Anyone who
 * reaches the Temporal frontend can send the update; only the API can sign one, for one run, lasting minutes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignedApproval } from '../contract/activities.js';

/** How long a signed approval is good for: enough for the update to reach a worker, too short to keep around. */
export const APPROVAL_MAX_AGE_MS = 15 * 60_000;
/** How far ahead of the worker's clock the API's may be. */
export const APPROVAL_CLOCK_SKEW_MS = 60_000;
/** Names what is signed, so a MAC made for anything else with the same key never passes as an approval. */
const PURPOSE = 'aks-gmsa approval v1';

export interface ApprovalCheck {
  valid: boolean;
  reason?: string;
}

function mac(key: Buffer, workflowId: string, a: { by: string; comment?: string; at: string }): Buffer {
  // A JSON array of strings is one encoding per value, and no field can run into the next.
  const canonical = JSON.stringify([PURPOSE, workflowId, a.by, a.comment ?? null, a.at]);
  return createHmac('sha256', key).update(canonical, 'utf8').digest();
}

export function signApproval(
  key: Buffer,
  workflowId: string,
  approval: { by: string; comment?: string },
  now: Date = new Date(),
): SignedApproval {
  const at = now.toISOString();
  const { by, comment } = approval;
  const proof = mac(key, workflowId, { by, comment, at }).toString('base64url');
  return comment === undefined ? { by, at, proof } : { by, comment, at, proof };
}

/** Whether `approval` is the API's, for this run, and fresh. Never throws: a bad proof is an answer. */
export function verifyApproval(
  key: Buffer,
  workflowId: string,
  approval: SignedApproval,
  now: Date = new Date(),
): ApprovalCheck {
  const a = approval as Partial<Record<keyof SignedApproval, unknown>> | undefined;
  if (
    typeof a?.by !== 'string' ||
    typeof a.at !== 'string' ||
    typeof a.proof !== 'string' ||
    (a.comment !== undefined && typeof a.comment !== 'string')
  ) {
    return { valid: false, reason: 'the approval is not shaped as the API signs it (by, at, proof)' };
  }
  const expected = mac(key, workflowId, { by: a.by, comment: a.comment, at: a.at });
  const given = Buffer.from(a.proof, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { valid: false, reason: 'the proof does not match: the API did not sign this approval for this run' };
  }
  // Checked after the MAC, so these answers are given only about what the API did sign.
  const at = Date.parse(a.at);
  if (!Number.isFinite(at)) return { valid: false, reason: `its time "${a.at}" is not a time` };
  const age = now.getTime() - at;
  if (age < -APPROVAL_CLOCK_SKEW_MS) {
    return { valid: false, reason: `it was signed ${Math.round(-age / 1000)} s in the future: check the clocks` };
  }
  if (age > APPROVAL_MAX_AGE_MS) {
    return {
      valid: false,
      reason: `it was signed ${Math.round(age / 60_000)} minutes ago; an approval lasts ${APPROVAL_MAX_AGE_MS / 60_000} minutes: approve again`,
    };
  }
  return { valid: true };
}
