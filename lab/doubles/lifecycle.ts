/** Doubles of LifecycleActivities (contract/lifecycle.ts). STUB: they refuse until the owning work gives them results. */
import type { LifecycleActivities } from '../../contract/lifecycle.js';
import type { DoublesOf } from './day-two.js';

const none = (name: string) => () => {
  throw new Error(`no double for ${name} yet`);
};

export const LIFECYCLE_DOUBLES: DoublesOf<LifecycleActivities> = {
  listCredentialSpecs: none('listCredentialSpecs'),
  disableClusterGmsa: none('disableClusterGmsa'),
  ensureOperationSchedules: none('ensureOperationSchedules'),
  deleteOperationSchedules: none('deleteOperationSchedules'),
};
