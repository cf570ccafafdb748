/** STUB (contract author): rotateGmsaUserPassword; the owning work replaces this file. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { RotatePasswordInput } from '../contract/operations.js';

export async function rotateGmsaUserPassword(_input: RotatePasswordInput): Promise<unknown> {
  throw ApplicationFailure.nonRetryable('rotateGmsaUserPassword is not built yet', 'NotConfigured');
}
