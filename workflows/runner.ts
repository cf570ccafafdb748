/**
 * A small runner for a graph of steps: each step starts as soon as the steps it needs are done, a step that does
 * not apply is skipped with the reason, the first failure cancels the rest and lets them settle, and `progress`
 * (plus the Temporal UI's current details) records every move. With rollback, what finished is undone newest
 * first (reverse declaration order, so a step is undone before what it needed). In ownership mode (the current
 * provisioning) every step that started is undone, reported or not: its removal decides by the object's owner
 * marker, so what an attempt created before its worker died goes too; and running activities are awaited when the
 * run is cancelled (WAIT_CANCELLATION_COMPLETED), so nothing they write lands after the rollback.
 *
 * An activity step is one activity execution with activityId = the step name and the server's retry policy from
 * its StepPolicy: the retries live on the server, not in this workflow's commands. A workflow step (a signal or a
 * timer, e.g. the KDS wait) runs workflow code of its own.
 *
 * Steps are declared with `stepsFor<Request, Results>()`, which types each step's `input` by exactly the results of
 * the steps it needs; `graph()` checks the declaration (unique names, needs declared before use).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  TimeoutFailure,
  upsertSearchAttributes,
  ActivityCancellationType,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { GmsaActivities, RemovalActivities } from '../contract/activities.js';
import { ErrorType } from '../contract/errors.js';
import { PHASE_ATTRIBUTE } from '../contract/phase-attribute.js';
import { scrub } from '../domain/scrub.js';
import type { StepError } from './definitions.js';
import type { ProgressTracker } from './progress.js';
import { removal as removalPolicy, type StepPolicy } from './step-policies.js';

type ActivityName = keyof GmsaActivities;
type ActivityInput<A extends ActivityName> = Parameters<GmsaActivities[A]>[0];
type ActivityOutput<A extends ActivityName> = Awaited<ReturnType<GmsaActivities[A]>>;

/** Error types the server never retries, whatever flag the failure carries. */
export const NON_RETRYABLE_TYPES: string[] = Object.values(ErrorType).filter((t) => t !== ErrorType.Transient);

/** The server's retry options for a policy; `awaitCancellation`: a cancelled run waits for the attempt to end. */
export function activityOptions(policy: StepPolicy, awaitCancellation = false): ActivityOptions {
  return {
    ...(awaitCancellation ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
    startToCloseTimeout: policy.startToClose,
    heartbeatTimeout: policy.heartbeat,
    retry: {
      initialInterval: policy.initialIntervalMs,
      backoffCoefficient: policy.backoff,
      maximumInterval: policy.maxIntervalMs,
      maximumAttempts: policy.maxAttempts,
      nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
    },
  };
}

/**
 * Shows `progress` where the Temporal UI looks: the current details on every move and, with `phaseAttribute`
 * (patch `phase-search-attribute`), the GmsaPhase search attribute whenever the phase's stable words change (one
 * upsert per change, not per move).
 */
export function reporter(progress: ProgressTracker<string, unknown>, phaseAttribute = false): () => void {
  let published: string | undefined;
  return () => {
    setCurrentDetails(progress.details());
    if (!phaseAttribute) return;
    const phase = progress.phaseKey();
    if (phase === published) return;
    published = phase;
    upsertSearchAttributes([{ key: PHASE_ATTRIBUTE, value: phase }]);
  };
}

/** One removal of a rollback: what it removes (for progress) and how. */
export interface Undo {
  what: string;
  run: (removal: RemovalActivities) => Promise<unknown>;
}

/** What a workflow step may do beyond returning its result. */
export interface StepContext {
  /** Show the step as waiting (for a signal, or until `until`) with one line saying for what. */
  waiting(until: string | undefined, summary: string): void;
}

interface StepCommon<Req, R, C, K extends keyof R, O> {
  /** The steps whose results this one needs; it starts when all of them are done. */
  needs: readonly K[];
  /** Why the step does not apply to this request (it is skipped, its result undefined); undefined: it runs. */
  skip?: (request: Req, ctx: C) => string | undefined;
  /** One line for progress and the UI: what the step did, from its result. Names and ids only, never a secret. */
  summary: (result: O) => string;
  /**
   * What a rollback removes of this step's work; undefined: nothing. `result` is undefined in ownership mode when
   * the step started but did not report (failed, cancelled, or its worker died).
   */
  undo?: (request: Req, result: O | undefined, done: Partial<R>, ctx: C) => Undo | undefined;
}

export interface ActivityStepDef<Req, R, C, A extends ActivityName, K extends keyof R> extends StepCommon<
  Req,
  R,
  C,
  K,
  ActivityOutput<A>
> {
  policy: StepPolicy;
  /** One line while it runs (the activity's summary in the Temporal UI). */
  describe: (request: Req) => string;
  /** The activity's input, from the request and the results of exactly the steps it needs. Throw `refuse()`. */
  input: (request: Req, got: Pick<R, K>, ctx: C) => ActivityInput<A>;
}

export interface WorkflowStepDef<Req, R, C, N extends keyof R, K extends keyof R> extends StepCommon<
  Req,
  R,
  C,
  K,
  R[N]
> {
  run: (request: Req, got: Pick<R, K>, ctx: StepContext & C) => Promise<R[N]>;
}

/** A declared step, its types erased for the runner (the builders below check them at the declaration). */
export interface Step<Req, C> {
  readonly name: string;
  readonly kind: 'activity' | 'workflow';
  readonly needs: readonly string[];
  readonly skip?: (request: Req, ctx: C) => string | undefined;
  readonly summary: (result: unknown) => string;
  readonly undo?: (request: Req, result: unknown, done: Record<string, unknown>, ctx: C) => Undo | undefined;
  readonly policy?: StepPolicy;
  readonly describe?: (request: Req) => string;
  readonly input?: (request: Req, got: Record<string, unknown>, ctx: C) => unknown;
  readonly run?: (request: Req, got: Record<string, unknown>, ctx: StepContext & C) => Promise<unknown>;
}

/** Builders for the steps of a workflow whose request is `Req`, whose step results are `R`, whose context is `C`. */
export function stepsFor<Req, R, C = object>() {
  return {
    activity<A extends ActivityName & keyof R, K extends keyof R = never>(
      name: A,
      def: ActivityStepDef<Req, R, C, A, K>,
    ): Step<Req, C> {
      return { name, kind: 'activity', ...def } as unknown as Step<Req, C>;
    },
    workflow<N extends keyof R & string, K extends keyof R = never>(
      name: N,
      def: WorkflowStepDef<Req, R, C, N, K>,
    ): Step<Req, C> {
      return { name, kind: 'workflow', ...def } as unknown as Step<Req, C>;
    },
  };
}

/** A checked graph of steps in declaration order; `R` is what `runGraph` returns. */
export interface Graph<Req, R, C = object> {
  readonly steps: readonly Step<Req, C>[];
  /** Type only: the results' shape. */
  readonly results?: R;
}

export function graph<Req, R, C = object>(steps: readonly Step<Req, C>[]): Graph<Req, R, C> {
  const seen = new Set<string>();
  for (const s of steps) {
    if (seen.has(s.name)) throw new Error(`step ${s.name} is declared twice`);
    for (const n of s.needs) if (!seen.has(n)) throw new Error(`step ${s.name} needs ${n}, not declared before it`);
    seen.add(s.name);
  }
  return { steps };
}

/** Thrown from a step's `input`: the step fails with this message without running (no retry can help). */
export function refuse(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorType.PreconditionFailed);
}

export interface RunOptions<N extends string, C> {
  progress: ProgressTracker<N, unknown>;
  /** Handed to workflow steps (e.g. the approval state the signal handler keeps). */
  context: C;
  /** Undo what finished when the graph fails or is cancelled. */
  rollback: boolean;
  /**
   * Ownership mode: undo every step that started (removals decide by owner markers) and await running activities
   * on cancellation. Off only for the legacy graph, whose undo trusts what the attempts reported.
   */
  ownership?: boolean;
  /** How a move is shown (the workflow's `reporter`, shared with its handlers); default: current details only. */
  report?: () => void;
}

/**
 * Runs every step of `g` for `request`; resolves with all results once all are done. On a failure or cancellation
 * the other steps are cancelled and settle, progress says how each ended, the rollback (if asked) runs, and the
 * first error is rethrown: `<step> failed: <why>` (type StepFailed), or the cancellation.
 */
export async function runGraph<Req, R, N extends string, C>(
  g: Graph<Req, R, C>,
  request: Req,
  o: RunOptions<N, C>,
): Promise<R> {
  const { progress } = o;
  const report = o.report ?? reporter(progress as ProgressTracker<string, unknown>);
  const done: Record<string, unknown> = {};
  const started = new Set<string>();
  const running = new Map<string, Promise<unknown>>();
  const scope = new CancellationScope();

  async function runStep(step: Step<Req, C>): Promise<unknown> {
    const name = step.name as N;
    const why = step.skip?.(request, o.context);
    if (why !== undefined) {
      progress.skipped(name, why);
      report();
      done[step.name] = undefined;
      return undefined;
    }
    const got = Object.fromEntries(step.needs.map((n) => [n, done[n]]));
    let result: unknown;
    if (step.kind === 'workflow') {
      const ctx = {
        ...o.context,
        waiting: (until: string | undefined, summary: string) => {
          progress.waiting(name, until, summary);
          report();
        },
      };
      started.add(step.name);
      try {
        result = await step.run!(request, got, ctx);
      } catch (err) {
        if (isCancellation(err)) throw err;
        throw fail(name, err);
      }
    } else {
      let input: unknown;
      try {
        input = step.input!(request, got, o.context);
      } catch (err) {
        throw fail(name, err);
      }
      const describe = step.describe!(request);
      progress.attemptStarted(name, 1, describe);
      report();
      started.add(step.name);
      const activity = proxyActivities<Record<string, (i: unknown) => Promise<unknown>>>({
        ...activityOptions(step.policy!, o.ownership),
        activityId: step.name,
        summary: describe,
      })[step.name]!;
      try {
        result = await activity(input);
      } catch (err) {
        if (isCancellation(err)) throw err;
        throw fail(name, err, step.policy);
      }
    }
    done[step.name] = result;
    progress.succeeded(name, step.summary(result));
    report();
    return result;
  }

  /** Records the step's final failure and returns what the workflow fails with. */
  function fail(name: N, err: unknown, policy?: StepPolicy): ApplicationFailure {
    const error = finalError(err);
    progress.failed(name, error);
    report();
    const gaveUp =
      err instanceof ActivityFailure && err.retryState === 'MAXIMUM_ATTEMPTS_REACHED' && policy
        ? `gave up after ${policy.maxAttempts} attempts: `
        : '';
    return ApplicationFailure.nonRetryable(`${name} failed: ${gaveUp}${error.message}`, 'StepFailed');
  }

  try {
    await scope.run(() => {
      for (const step of g.steps) {
        const needs = step.needs.map((n) => running.get(n)!);
        running.set(
          step.name,
          Promise.all(needs).then(() => runStep(step)),
        );
      }
      return Promise.all(running.values());
    });
    return done as unknown as R;
  } catch (err) {
    // Stop the branches still running, and let them settle so progress tells the whole story.
    scope.cancel();
    await CancellationScope.nonCancellable(() => Promise.allSettled(running.values()));
    const cancelled = isCancellation(err);
    progress.finish(cancelled ? 'cancelled' : 'failed', cancelled ? undefined : messageOf(err));
    report();
    if (o.rollback) {
      const undone = o.ownership
        ? (s: string) => started.has(s) || done[s] !== undefined
        : (s: string) => done[s] !== undefined;
      await CancellationScope.nonCancellable(() => rollback(g, request, o.context, done, undone, progress, report));
    }
    throw err;
  }
}

/**
 * Removes what this run made, newest first, each removal retried by the server, for every step `undone` says; each
 * step's `undo` names the removal (which, in ownership mode, removes only what is marked as this binding's).
 */
async function rollback<Req, C>(
  g: Graph<Req, unknown, C>,
  request: Req,
  context: C,
  done: Record<string, unknown>,
  undone: (step: string) => boolean,
  progress: ProgressTracker<string, unknown>,
  report: () => void,
): Promise<void> {
  const removal = proxyActivities<RemovalActivities>({ ...activityOptions(removalPolicy), summary: 'rollback' });
  const undo = [...g.steps]
    .reverse()
    .flatMap((s) => (undone(s.name) && s.undo?.(request, done[s.name], done, context)) || []);
  const state = { status: 'running' as 'running' | 'done' | 'failed', removed: [] as string[], failed: [] as string[] };
  progress.rollback = state;
  report();
  for (const { what, run } of undo) {
    try {
      await run(removal);
      state.removed.push(what);
    } catch (err) {
      state.failed.push(`${what}: ${finalError(err).message}`);
    }
    report();
  }
  state.status = state.failed.length ? 'failed' : 'done';
  report();
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A step's final failure: the last attempt's cause, scrubbed; no retry follows. */
function finalError(err: unknown): StepError {
  const at = new Date().toISOString();
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    return { message: scrub(cause.message), type: cause.type ?? undefined, retryable: false, at };
  }
  if (cause instanceof TimeoutFailure) {
    return { message: `timed out (${cause.timeoutType})`, type: 'Timeout', retryable: false, at };
  }
  return { message: scrub(messageOf(cause)), retryable: false, at };
}
