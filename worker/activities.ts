/**
 * Composition root of the activities: configuration → clients → activity implementations. Each outside system is
 * wired only when configured; the rest fail with "not configured: …" (activities/index.ts).
 */
import { createActivities } from '../activities/index.js';
import type { GmsaActivities } from '../activities/types.js';

export async function createRealActivities(_env: NodeJS.ProcessEnv = process.env): Promise<GmsaActivities> {
  const parts: Partial<GmsaActivities> = {};
  return createActivities(parts);
}
