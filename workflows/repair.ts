/** STUB (contract author): repairGmsa; the owning work replaces this file. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { RepairInput } from '../contract/operations.js';

export async function repairGmsa(_input: RepairInput): Promise<unknown> {
  throw ApplicationFailure.nonRetryable('repairGmsa is not built yet', 'NotConfigured');
}
