/**
 * Doubles of the day-2 activities, one file per part (the operations' owners fill theirs), merged here into the
 * activity doubles of lab/activity-doubles.ts.
 */
import type { DayTwoActivities } from '../../contract/activities.js';
import { BINDING_DOUBLES } from './binding.js';
import { INSPECTION_DOUBLES } from './inspection.js';
import { LIFECYCLE_DOUBLES } from './lifecycle.js';
import { ROTATION_DOUBLES } from './rotation.js';
import { VALIDATION_DOUBLES } from './validation.js';

type Fn = (input: never) => Promise<unknown>;
/** A double per activity of `A`: the real one's input in, its result's shape out (synchronously). */
export type DoublesOf<A extends Record<keyof A, Fn>> = {
  [N in keyof A]: (input: Parameters<A[N]>[0]) => Awaited<ReturnType<A[N]>>;
};

export const DAY_TWO_DOUBLES: DoublesOf<DayTwoActivities> = {
  ...BINDING_DOUBLES,
  ...LIFECYCLE_DOUBLES,
  ...ROTATION_DOUBLES,
  ...INSPECTION_DOUBLES,
  ...VALIDATION_DOUBLES,
};
