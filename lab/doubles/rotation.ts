/** Doubles of RotationActivities (contract/rotation.ts). STUB: they refuse until the owning work gives them results. */
import type { RotationActivities } from '../../contract/rotation.js';
import type { DoublesOf } from './day-two.js';

const none = (name: string) => () => {
  throw new Error(`no double for ${name} yet`);
};

export const ROTATION_DOUBLES: DoublesOf<RotationActivities> = {
  listUserSecrets: none('listUserSecrets'),
  stageUserPassword: none('stageUserPassword'),
  setDomainUserPassword: none('setDomainUserPassword'),
  publishUserPassword: none('publishUserPassword'),
  dropStagedPassword: none('dropStagedPassword'),
};
