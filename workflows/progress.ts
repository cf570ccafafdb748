/**
 * The progress model behind the `progress` query and the Temporal UI's current details. Plain state, updated by the
 * workflow as steps move; `new Date()` inside a workflow is workflow time, so this stays deterministic.
 */
import type {
  Approval,
  Progress,
  ProvisionOutputs,
  RollbackProgress,
  StepError,
  StepName,
  StepProgress,
  StepStatus,
} from './definitions.js';
import { STEP_NAMES } from './definitions.js';
import { PHASES } from '../contract/phase-attribute.js';

const now = () => new Date().toISOString();

/** Progress of a workflow whose steps are named `N` (the provisioning's by default; a day-2 workflow's its own). */
export class ProgressTracker<N extends string = StepName, O = ProvisionOutputs> {
  private readonly steps: Map<N, StepProgress<N>>;
  approval?: Approval;
  rollback?: RollbackProgress;
  outputs?: O;
  error?: string;
  private finished?: 'completed' | 'failed' | 'cancelled';

  constructor(names: readonly N[] = STEP_NAMES as readonly string[] as readonly N[]) {
    this.steps = new Map(names.map((name) => [name, { name, status: 'pending', attempts: 0 }]));
  }

  step(name: N): StepProgress<N> {
    return this.steps.get(name)!;
  }

  attemptStarted(name: N, attempt: number, summary: string): void {
    const s = this.step(name);
    s.status = 'running';
    s.attempts = attempt;
    s.startedAt ??= now();
    s.waitUntil = undefined;
    s.summary = summary;
  }

  succeeded(name: N, summary?: string): void {
    const s = this.step(name);
    s.status = 'succeeded';
    s.startedAt ??= now();
    s.endedAt = now();
    s.waitUntil = undefined;
    if (summary) s.summary = summary;
  }

  /** A failed attempt that will be retried at `retryAt`. */
  retrying(name: N, error: StepError, retryAt: string): void {
    const s = this.step(name);
    s.status = 'waiting';
    s.lastError = error;
    s.waitUntil = retryAt;
  }

  waiting(name: N, until: string | undefined, summary: string): void {
    const s = this.step(name);
    s.status = 'waiting';
    s.startedAt ??= now();
    s.waitUntil = until;
    s.summary = summary;
  }

  failed(name: N, error: StepError): void {
    const s = this.step(name);
    s.status = 'failed';
    s.lastError = error;
    s.endedAt = now();
    s.waitUntil = undefined;
  }

  skipped(name: N, why: string): void {
    const s = this.step(name);
    s.status = 'skipped';
    s.summary = why;
  }

  /** After a failure or cancellation: steps that never ran are skipped, steps cut short are failed. */
  finish(outcome: 'completed' | 'failed' | 'cancelled', error?: string): void {
    this.finished = outcome;
    this.error = error;
    for (const s of this.steps.values()) {
      if (s.status === 'pending')
        this.skipped(s.name, outcome === 'cancelled' ? 'cancelled' : 'not run: an earlier step failed');
      else if (s.status === 'running' || s.status === 'waiting') {
        this.failed(s.name, {
          message: outcome === 'cancelled' ? 'cancelled' : 'stopped: another step failed',
          retryable: false,
          at: now(),
        });
      }
    }
  }

  /** What the workflow does now, in one line (API `phase`, Temporal UI current details). */
  phase(): string {
    if (this.finished === 'completed') return 'completed';
    if (this.finished) return `${this.finished}${this.error ? `: ${this.error}` : ''}`;
    const active = [...this.steps.values()].filter((s) => s.status === 'running' || s.status === 'waiting');
    if (!active.length) return 'starting';
    return active
      .map((s) =>
        s.status === 'running'
          ? `${s.name}${s.attempts > 1 ? ` (attempt ${s.attempts})` : ''}`
          : `${s.name} waiting${s.waitUntil ? ` until ${s.waitUntil}` : ''}`,
      )
      .join(', ');
  }

  /** The phase in a few stable words (contract/phase-attribute.ts): the GmsaPhase search attribute. */
  phaseKey(): string {
    if (this.finished === 'completed') return PHASES.completed;
    if (this.rollback?.status === 'running') return PHASES.rollingBack;
    if (this.finished) return PHASES[this.finished];
    const steps = [...this.steps.values()];
    const approval = steps.find((s) => s.name === 'awaitAdApproval' && s.status === 'waiting');
    if (approval) return approval.waitUntil ? PHASES.waitingForKdsKey : PHASES.waitingForApproval;
    // Between steps, or a step waiting for a coordinator, is still running: the value changes only when it means something.
    return steps.some((s) => s.status !== 'pending') ? PHASES.running : PHASES.starting;
  }

  snapshot(): Progress<N, O> {
    return {
      phase: this.phase(),
      steps: [...this.steps.values()].map((s) => ({ ...s })),
      approval: this.approval,
      rollback: this.rollback && {
        ...this.rollback,
        removed: [...this.rollback.removed],
        failed: [...this.rollback.failed],
      },
      outputs: this.outputs,
      error: this.error,
    };
  }

  /** Markdown for the Temporal UI's "current details" panel. */
  details(): string {
    const icon: Record<StepStatus, string> = {
      pending: '·',
      running: '▶',
      waiting: '⏸',
      succeeded: '✔',
      failed: '✖',
      skipped: '–',
    };
    const lines = [...this.steps.values()].map(
      (s) =>
        `${icon[s.status]} **${s.name}** ${s.status}${s.attempts > 1 ? ` (attempt ${s.attempts})` : ''}` +
        `${s.summary ? ` — ${s.summary}` : ''}${s.lastError && s.status !== 'succeeded' ? ` — last error: ${s.lastError.message}` : ''}`,
    );
    const rollback = this.rollback
      ? [
          '',
          `**rollback ${this.rollback.status}**`,
          ...this.rollback.removed.map((r) => `- removed ${r}`),
          ...this.rollback.failed.map((f) => `- ✖ ${f}`),
        ]
      : [];
    return [`**${this.phase()}**`, '', ...lines.map((l) => `- ${l}`), ...rollback].join('\n');
  }
}
