/**
 * Figures from the runs' histories (event times are the server's, payloads are not needed): how long activities
 * and workflow tasks waited for a worker (scheduled → started), and how long each kind of activity took from
 * scheduled to closed. A retried activity's started event is its last attempt's, so waits count first attempts only.
 */
import type { Client } from '@temporalio/client';
import { SCALE_SET_OUTCOME_SIGNAL } from '../../contract/coordination.js';

type Timestamp = { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined;
export const ms = (t: Timestamp) => Number(t?.seconds?.toString() ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function distribution(xs: number[]): Distribution {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
  return { n: s.length, p50: rank(0.5), p99: rank(0.99), max: s[s.length - 1] ?? 0 };
}

export interface ActivityKind {
  /** Scheduled → closed (completed, failed, timed out or cancelled), every attempt and backoff included. */
  closeMs: number[];
  /** Activities that needed more than one attempt, and the attempts they took in all. */
  retried: number;
  attempts: number;
}

/** Time a run lost to one kind of trouble: how often, and the time from the trouble's start to the retry's. */
export interface Loss {
  n: number;
  ms: number;
}

/**
 * What workers that die cost the runs, from their histories. An activity's earlier attempts are not events: the
 * last attempt's started event says which attempt it is and why the one before ended (lastFailure), so a retried
 * activity counts once, by that cause, with the time from its scheduling to its last attempt's start (the earlier
 * attempts, their timeouts and the backoffs). Workflow tasks that timed out are events of their own: started on a
 * worker that died (start-to-close, the workflow task timeout) or queued for one (schedule-to-start, the sticky
 * queue's timeout).
 */
export interface Losses {
  activityHeartbeatTimeout: Loss;
  activityStartToCloseTimeout: Loss;
  activityOtherRetry: Loss;
  workflowTaskStartToClose: Loss;
  workflowTaskScheduleToStart: Loss;
  workflowTaskFailed: Loss;
}

export interface HistoryFigures {
  activityWaitMs: number[];
  workflowTaskWaitMs: number[];
  /** Started → completed of each workflow task: how close they come to the workflow task timeout. */
  workflowTaskRunMs: number[];
  byActivity: Map<string, ActivityKind>;
  /** Started → closed of every activity's last attempt: how many ran at once shows whether worker slots ran out. */
  activityRunning: Array<[number, number]>;
  losses: Losses;
  /** Per run: first event → close, and what it lost in all (the sum of its losses, overlaps not removed). */
  runs: RunFigures[];
}

export interface RunFigures {
  id: string;
  wallMs: number;
  lostMs: number;
  /** Its activities in the order they closed (scheduled → closed, attempts) and its waits on the scale-set coordinator. */
  steps: Array<{ name: string; ms: number; attempts: number }>;
}

const noLoss = (): Loss => ({ n: 0, ms: 0 });
const TIMEOUT_HEARTBEAT = 4; // temporal.api.enums.v1.TimeoutType
const TIMEOUT_START_TO_CLOSE = 1;
export const TIMEOUT_SCHEDULE_TO_START = 2;

/** The most intervals that overlap at one moment. */
export function mostAtOnce(intervals: Array<[number, number]>): number {
  const edges = intervals.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  // At equal times an end goes first: a slot freed and taken again in the same millisecond is one slot.
  edges.sort((x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number));
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d as number));
  return most;
}

export async function historyFigures(client: Client, ids: string[], concurrency = 8): Promise<HistoryFigures> {
  const out: HistoryFigures = {
    activityWaitMs: [],
    workflowTaskWaitMs: [],
    workflowTaskRunMs: [],
    byActivity: new Map(),
    activityRunning: [],
    losses: {
      activityHeartbeatTimeout: noLoss(),
      activityStartToCloseTimeout: noLoss(),
      activityOtherRetry: noLoss(),
      workflowTaskStartToClose: noLoss(),
      workflowTaskScheduleToStart: noLoss(),
      workflowTaskFailed: noLoss(),
    },
    runs: [],
  };
  const add = (loss: Loss, lostMs: number, run: { lostMs: number }) => {
    loss.n += 1;
    loss.ms += lostMs;
    run.lostMs += lostMs;
  };
  const queue = [...ids];
  const one = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
      const byId = new Map(events.map((e) => [Number(e.eventId), e]));
      const scheduledAt = (scheduledEventId: unknown) => byId.get(Number(scheduledEventId));
      const run: RunFigures = {
        id,
        wallMs: events.length ? ms(events[events.length - 1]?.eventTime) - ms(events[0]?.eventTime) : 0,
        lostMs: 0,
        steps: [],
      };
      out.runs.push(run);
      let queuedAt: number | undefined;
      for (const e of events) {
        // The wait on the scale-set coordinator is no activity of the run's: queued → its outcome's signal.
        if (e.workflowExecutionSignaledEventAttributes?.signalName === SCALE_SET_OUTCOME_SIGNAL && queuedAt) {
          run.steps.push({ name: 'scale-set outcome', ms: ms(e.eventTime) - queuedAt, attempts: 1 });
          queuedAt = undefined;
        }
        const wftTimedOut = e.workflowTaskTimedOutEventAttributes;
        if (wftTimedOut) {
          const from = scheduledAt(wftTimedOut.scheduledEventId);
          const type = Number(wftTimedOut.timeoutType);
          add(
            type === TIMEOUT_SCHEDULE_TO_START
              ? out.losses.workflowTaskScheduleToStart
              : out.losses.workflowTaskStartToClose,
            ms(e.eventTime) -
              ms(
                (type === TIMEOUT_SCHEDULE_TO_START ? from : (byId.get(Number(wftTimedOut.startedEventId)) ?? from))
                  ?.eventTime,
              ),
            run,
          );
        }
        const wftFailed = e.workflowTaskFailedEventAttributes;
        if (wftFailed)
          add(
            out.losses.workflowTaskFailed,
            ms(e.eventTime) - ms(scheduledAt(wftFailed.scheduledEventId)?.eventTime),
            run,
          );
        const retried = e.activityTaskStartedEventAttributes;
        if (retried && (retried.attempt ?? 1) > 1) {
          const timeout = retried.lastFailure?.timeoutFailureInfo?.timeoutType;
          const loss =
            Number(timeout) === TIMEOUT_HEARTBEAT
              ? out.losses.activityHeartbeatTimeout
              : Number(timeout) === TIMEOUT_START_TO_CLOSE
                ? out.losses.activityStartToCloseTimeout
                : out.losses.activityOtherRetry;
          add(loss, ms(e.eventTime) - ms(scheduledAt(retried.scheduledEventId)?.eventTime), run);
        }
        const wft = e.workflowTaskStartedEventAttributes;
        if (wft) out.workflowTaskWaitMs.push(ms(e.eventTime) - ms(scheduledAt(wft.scheduledEventId)?.eventTime));
        const wftDone = e.workflowTaskCompletedEventAttributes;
        if (wftDone)
          out.workflowTaskRunMs.push(ms(e.eventTime) - ms(byId.get(Number(wftDone.startedEventId))?.eventTime));
        const started = e.activityTaskStartedEventAttributes;
        if (started && (started.attempt ?? 1) === 1) {
          out.activityWaitMs.push(ms(e.eventTime) - ms(scheduledAt(started.scheduledEventId)?.eventTime));
        }
        const closed =
          e.activityTaskCompletedEventAttributes ??
          e.activityTaskFailedEventAttributes ??
          e.activityTaskTimedOutEventAttributes ??
          e.activityTaskCanceledEventAttributes;
        if (!closed) continue;
        const scheduled = scheduledAt(closed.scheduledEventId);
        const name = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        const startedEvent = byId.get(Number((closed as { startedEventId?: unknown }).startedEventId));
        const attempt = startedEvent?.activityTaskStartedEventAttributes?.attempt ?? 1;
        if (startedEvent) out.activityRunning.push([ms(startedEvent.eventTime), ms(e.eventTime)]);
        const kind = out.byActivity.get(name) ?? { closeMs: [], retried: 0, attempts: 0 };
        const closeMs = ms(e.eventTime) - ms(scheduled?.eventTime);
        kind.closeMs.push(closeMs);
        run.steps.push({ name, ms: closeMs, attempts: attempt });
        if (name === 'queueScaleSetChange' && e.activityTaskCompletedEventAttributes) queuedAt = ms(e.eventTime);
        kind.attempts += attempt;
        if (attempt > 1) kind.retried += 1;
        out.byActivity.set(name, kind);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  return out;
}
