/** STUB (contract author): gmsaAccess; the owning work replaces this file. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { AccessInput } from '../contract/operations.js';

export async function gmsaAccess(_input: AccessInput): Promise<unknown> {
  throw ApplicationFailure.nonRetryable('gmsaAccess is not built yet', 'NotConfigured');
}
