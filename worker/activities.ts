/**
 * Composition root of the activities: configuration → clients → activity implementations. Each outside system is
 * wired only when configured; the rest fail with "not configured: …" (activities/index.ts).
 */
import { createActiveDirectoryActivities } from '../activities/active-directory.js';
import { notConfigured } from '../activities/errors.js';
import { ACTIVITY_NEEDS, createActivities } from '../activities/index.js';
import type { GmsaActivities, SecretReader } from '../activities/types.js';
import { readActiveDirectoryConfig } from './config/active-directory.js';
import type { Logger } from './logger.js';

export async function createRealActivities(env: NodeJS.ProcessEnv, log: Logger): Promise<GmsaActivities> {
  const parts: Partial<GmsaActivities> = {};
  const secrets: SecretReader = {
    read: async () => {
      throw notConfigured(ACTIVITY_NEEDS.storeUserSecret);
    },
  };
  const ad = readActiveDirectoryConfig(env);
  if (ad) Object.assign(parts, createActiveDirectoryActivities({ config: ad, secrets, log }));
  return createActivities(parts);
}
