/** Doubles of BindingActivities (contract/operations.ts). STUB: they refuse until the owning work gives them results. */
import type { BindingActivities } from '../../contract/operations.js';
import type { DoublesOf } from './day-two.js';

const none = (name: string) => () => {
  throw new Error(`no double for ${name} yet`);
};

export const BINDING_DOUBLES: DoublesOf<BindingActivities> = {
  readBinding: none('readBinding'),
};
