/** STUB (contract author): deprovisionGmsa; the owning work replaces this file. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { DeprovisionInput } from '../contract/operations.js';

export async function deprovisionGmsa(_input: DeprovisionInput): Promise<unknown> {
  throw ApplicationFailure.nonRetryable('deprovisionGmsa is not built yet', 'NotConfigured');
}
