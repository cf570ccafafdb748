/** STUB (contract author): gmsaSampleWorkload; the owning work replaces this file. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { SampleWorkloadInput } from '../contract/operations.js';

export async function gmsaSampleWorkload(_input: SampleWorkloadInput): Promise<unknown> {
  throw ApplicationFailure.nonRetryable('gmsaSampleWorkload is not built yet', 'NotConfigured');
}
