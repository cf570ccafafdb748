/** STUB (contract author): setDomainUserPassword. The owning work replaces this file. */
import type { ActiveDirectoryConfig } from './config.js';
import type { SecretReader } from '../../contract/activities.js';
import type { RotationActivities } from '../../contract/rotation.js';
import type { Logger } from '../../config/logger.js';

export function createPasswordActivities(_deps: {
  config: ActiveDirectoryConfig;
  secrets: SecretReader;
  log: Logger;
}): Partial<Pick<RotationActivities, 'setDomainUserPassword'>> {
  return {};
}
