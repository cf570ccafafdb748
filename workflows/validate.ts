/** STUB (contract author): validateGmsa; the owning work replaces this file. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { ValidateInput } from '../contract/operations.js';

export async function validateGmsa(_input: ValidateInput): Promise<unknown> {
  throw ApplicationFailure.nonRetryable('validateGmsa is not built yet', 'NotConfigured');
}
