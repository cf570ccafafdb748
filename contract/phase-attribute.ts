/**
 * The GmsaPhase search attribute: a run's phase in a few stable words, kept current by the workflow, so the Temporal
 * UI's list shows it as a column and filters on it (`GmsaPhase = 'waiting for approval'`). Defined here because the
 * workflow sets it and the workflow layer imports contract/ only; temporal/search-attributes.ts lists it with the
 * others. The progress query's `phase` says more (attempts, times, errors); this says only which of these it is.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const PHASE_ATTRIBUTE = defineSearchAttributeKey('GmsaPhase', SearchAttributeType.KEYWORD);

/** Every value it takes; `running` covers a step waiting for another workflow (e.g. a scale-set coordinator). */
export const PHASES = {
  starting: 'starting',
  running: 'running',
  waitingForApproval: 'waiting for approval',
  waitingForKdsKey: 'waiting for the KDS root key',
  rollingBack: 'rolling back',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
