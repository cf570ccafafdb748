/**
 * The Temporal Schedules of a binding's recurring operations (DESIGN "Day 2"): repair every `repairEvery` (6 h by
 * default), password rotation every `rotatePasswordEvery` when asked. Made with the worker's own client (same
 * namespace, same payload codec) on the worker's own task queue, so the runs land where the binding's workers are.
 * Each Schedule starts its operation with only `{ bindingId }`: the run reads the binding as it is then.
 *
 * Idempotent: a Schedule is created when missing, updated when its interval or action differs, left alone when it
 * is right (a paused one stays paused: someone paused it on purpose), and deleted when no longer asked for.
 */
import { Context } from '@temporalio/activity';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { SearchAttributePair, Workflow } from '@temporalio/common';
import { ErrorType, fatal } from '../contract/errors.js';
import type { LifecycleActivities, ScheduleOperationsInput, ScheduleOperationsResult } from '../contract/lifecycle.js';
import {
  OPERATION_WORKFLOWS,
  operationId,
  scheduleId,
  SCHEDULED_KINDS,
  type BindingInput,
  type ScheduledKind,
} from '../contract/operations.js';
import { everyMs, everyText } from '../domain/every.js';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.js';

/** The interval each kind is asked for, in ms; undefined: no Schedule. Bad text is refused, naming the option. */
function wantedIntervals(input: ScheduleOperationsInput): Record<ScheduledKind, number | undefined> {
  const parse = (option: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    try {
      return everyMs(text);
    } catch (e) {
      throw fatal(ErrorType.InvalidInput, `options.${option}: ${(e as Error).message}`);
    }
  };
  return {
    repair: parse('repairEvery', input.repairEvery),
    'rotate-password': parse('rotatePasswordEvery', input.rotatePasswordEvery),
  };
}

function searchAttributes(input: ScheduleOperationsInput): SearchAttributePair[] {
  return [
    { key: SEARCH_ATTRIBUTES.binding, value: input.bindingId },
    ...(input.cluster ? [{ key: SEARCH_ATTRIBUTES.cluster, value: input.cluster }] : []),
    ...(input.credentialSpec ? [{ key: SEARCH_ATTRIBUTES.spec, value: input.credentialSpec }] : []),
  ];
}

/** What the Schedule starts: the operation, for its binding, with the operation's id (Temporal appends the time). */
function actionFor(input: ScheduleOperationsInput, kind: ScheduledKind, taskQueue: string) {
  return {
    type: 'startWorkflow',
    workflowType: OPERATION_WORKFLOWS[kind],
    workflowId: operationId(input.bindingId, kind),
    args: [{ bindingId: input.bindingId } satisfies BindingInput],
    taskQueue,
    typedSearchAttributes: searchAttributes(input),
  } satisfies ScheduleOptionsStartWorkflowAction<Workflow>;
}

/** True when the Schedule as described does what `kind` at `ms` on `taskQueue` asks. */
function isRight(d: ScheduleDescription, kind: ScheduledKind, ms: number, taskQueue: string, id: string): boolean {
  const intervals = d.spec.intervals ?? [];
  return (
    intervals.length === 1 &&
    intervals[0]!.every === ms &&
    (d.spec.calendars ?? []).length === 0 &&
    d.action.workflowType === OPERATION_WORKFLOWS[kind] &&
    d.action.workflowId === id &&
    d.action.taskQueue === taskQueue &&
    d.policies.overlap === ScheduleOverlapPolicy.SKIP
  );
}

async function describeOrUndefined(client: Client, id: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return undefined;
    throw e;
  }
}

async function deleteIfPresent(client: Client, id: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(id).delete();
    return true;
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return false;
    throw e;
  }
}

export function createScheduleActivities(): Pick<
  LifecycleActivities,
  'ensureOperationSchedules' | 'deleteOperationSchedules'
> {
  async function ensureOperationSchedules(input: ScheduleOperationsInput): Promise<ScheduleOperationsResult> {
    const { client, info } = Context.current();
    const taskQueue = info.taskQueue;
    const wanted = wantedIntervals(input);
    const result: ScheduleOperationsResult = { schedules: [], changed: [], removed: [] };
    for (const kind of SCHEDULED_KINDS) {
      const id = scheduleId(input.bindingId, kind);
      const ms = wanted[kind];
      if (ms === undefined) {
        if (await deleteIfPresent(client, id)) result.removed.push(id);
        continue;
      }
      result.schedules.push(id);
      const spec = { intervals: [{ every: ms }] };
      const action = actionFor(input, kind, taskQueue);
      const note = `${kind} of binding ${input.bindingId} every ${everyText(ms)} (aks-gmsa)`;
      let current = await describeOrUndefined(client, id);
      if (!current) {
        try {
          await client.schedule.create({
            scheduleId: id,
            spec,
            action,
            policies: { overlap: ScheduleOverlapPolicy.SKIP },
            typedSearchAttributes: searchAttributes(input),
            state: { note },
          });
          result.changed.push(id);
          continue;
        } catch (e) {
          // Created meanwhile (an earlier attempt whose reply was lost): decide on what is there.
          if (!(e instanceof ScheduleAlreadyRunning)) throw e;
          current = await describeOrUndefined(client, id);
          if (!current) throw e;
        }
      }
      if (isRight(current, kind, ms, taskQueue, id)) continue;
      await client.schedule.getHandle(id).update((previous) => ({
        spec,
        action,
        policies: { ...previous.policies, overlap: ScheduleOverlapPolicy.SKIP },
        state: { paused: previous.state.paused, note: previous.state.paused ? previous.state.note : note },
      }));
      result.changed.push(id);
    }
    return result;
  }

  async function deleteOperationSchedules(input: BindingInput): Promise<{ deleted: string[] }> {
    const { client } = Context.current();
    const deleted: string[] = [];
    for (const kind of SCHEDULED_KINDS) {
      const id = scheduleId(input.bindingId, kind);
      if (await deleteIfPresent(client, id)) deleted.push(id);
    }
    return { deleted };
  }

  return { ensureOperationSchedules, deleteOperationSchedules };
}
