/**
 * Doubles of LifecycleActivities (contract/lifecycle.ts), derived from the input: no spec is left on the cluster (a
 * test that needs one there overrides listCredentialSpecs), gMSA turns off, and the Schedules are the ids the input
 * asks for.
 */
import type { LifecycleActivities } from '../../contract/lifecycle.js';
import { scheduleId } from '../../contract/operations.js';
import type { DoublesOf } from './day-two.js';

export const LIFECYCLE_DOUBLES: DoublesOf<LifecycleActivities> = {
  listCredentialSpecs: () => ({ specs: [] }),
  disableClusterGmsa: () => ({ disabled: true }),
  ensureOperationSchedules: (i) => {
    const schedules = [
      ...(i.repairEvery ? [scheduleId(i.bindingId, 'repair')] : []),
      ...(i.rotatePasswordEvery ? [scheduleId(i.bindingId, 'rotate-password')] : []),
    ];
    const removed = [
      ...(i.repairEvery ? [] : [scheduleId(i.bindingId, 'repair')]),
      ...(i.rotatePasswordEvery ? [] : [scheduleId(i.bindingId, 'rotate-password')]),
    ];
    return { schedules, changed: schedules, removed };
  },
  deleteOperationSchedules: (i) => ({
    deleted: [scheduleId(i.bindingId, 'repair'), scheduleId(i.bindingId, 'rotate-password')],
  }),
};
