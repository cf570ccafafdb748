/** STUB (contract author): the operations' Temporal Schedules. The owning work replaces this file. */
import type { LifecycleActivities } from '../contract/lifecycle.js';

export function createScheduleActivities(): Partial<
  Pick<LifecycleActivities, 'ensureOperationSchedules' | 'deleteOperationSchedules'>
> {
  return {};
}
