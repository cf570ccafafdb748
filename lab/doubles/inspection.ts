/** Doubles of InspectionActivities (contract/inspection.ts). STUB: they refuse until the owning work gives them results. */
import type { InspectionActivities } from '../../contract/inspection.js';
import type { DoublesOf } from './day-two.js';

const none = (name: string) => () => {
  throw new Error(`no double for ${name} yet`);
};

export const INSPECTION_DOUBLES: DoublesOf<InspectionActivities> = {
  inspectCluster: none('inspectCluster'),
  listSecretReaders: none('listSecretReaders'),
};
