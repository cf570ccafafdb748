/**
 * verifyApproval: the worker's check that an approval update carries the API's proof (temporal/approval-proof.ts).
 * It answers, never throws, for a bad proof: the workflow refuses the update with the reason.
 */
import type { ApprovalActivities } from '../contract/activities.js';
import { verifyApproval } from '../temporal/approval-proof.js';

export const NO_APPROVAL_KEY = 'the worker has no GMSA_APPROVAL_KEY';

export function createApprovalActivities(key: Buffer | undefined): ApprovalActivities {
  return {
    async verifyApproval({ workflowId, approval }) {
      if (!key) return { valid: false, reason: NO_APPROVAL_KEY };
      return verifyApproval(key, workflowId, approval);
    },
  };
}
