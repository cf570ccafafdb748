/** Doubles of ValidationActivities (contract/validation.ts). STUB: they refuse until the owning work gives them results. */
import type { ValidationActivities } from '../../contract/validation.js';
import type { DoublesOf } from './day-two.js';

const none = (name: string) => () => {
  throw new Error(`no double for ${name} yet`);
};

export const VALIDATION_DOUBLES: DoublesOf<ValidationActivities> = {
  runValidationPod: none('runValidationPod'),
};
