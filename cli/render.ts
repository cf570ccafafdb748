/** Text the CLI prints: the step table, a provisioning's status, the list, and API errors. Pure functions. */
import { stripVTControlCharacters } from 'node:util';
import type {
  OperationStep,
  OperationSummary,
  OperationView,
  ProvisioningSummary,
  ProvisioningView,
  WorkflowStatus,
} from '../api/schemas.js';
import type { AccessReport } from '../domain/access-report.js';
import { ApiError, Unreachable, UsageError } from './errors.js';

/** A step of a provisioning or of an operation (whose steps have names of their own). */
export type Step = OperationStep;
/** What the status view and watch show: a provisioning or a day-2 operation. */
export type RunView = ProvisioningView | OperationView;

export interface Style {
  /** ANSI colours (a terminal, and NO_COLOR unset). */
  color: boolean;
  /** Cut lines to this many columns, so a redraw in place never wraps. */
  width?: number;
}

const ESC = '\x1b';
const SGR = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 } as const;
type Tone = keyof typeof SGR;
const paint = (style: Style, tone: Tone | undefined, s: string) =>
  style.color && tone ? `${ESC}[${SGR[tone]}m${s}${ESC}[0m` : s;

const STEP_TONE: Record<Step['status'], Tone> = {
  succeeded: 'green',
  failed: 'red',
  running: 'cyan',
  waiting: 'yellow',
  pending: 'dim',
  skipped: 'dim',
};
const STATUS_TONE: Partial<Record<WorkflowStatus, Tone>> = { COMPLETED: 'green', RUNNING: 'cyan' };
export const statusTone = (status: WorkflowStatus): Tone => STATUS_TONE[status] ?? 'red';

/** Local wall-clock time of day; the date only when it is not today. */
export function formatTime(iso: string | undefined, now = new Date()): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return d.toDateString() === now.toDateString()
    ? time
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/** How long a step took, or has been running. */
export function stepDuration(step: Step, now: number): string {
  if (!step.startedAt) return '';
  const end = step.endedAt ? Date.parse(step.endedAt) : now;
  return formatDuration(end - Date.parse(step.startedAt));
}

/** The step's last words: its error while it has one, else the wait or its summary. */
export function stepNote(step: Step): string {
  const parts: string[] = [];
  // A step that succeeded after a retry keeps its last error; the summary says more by then.
  const error = step.status === 'succeeded' ? undefined : step.lastError;
  if (error) {
    const retry = step.status !== 'failed' && error.retryable ? ' (will retry)' : '';
    parts.push(`last error: ${oneLine(error.message)}${retry}`);
  }
  if (step.waitUntil && step.status === 'waiting') parts.push(`until ${formatTime(step.waitUntil)}`);
  if (!error && step.summary) parts.push(oneLine(step.summary));
  return parts.join('; ');
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Columns padded to the widest cell; the last column is cut to the width instead of padded. */
function table(rows: string[][], style: Style, tones: (row: number, col: number) => Tone | undefined): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row, r) => {
    let used = 0;
    return row
      .map((cell, c) => {
        const last = c === row.length - 1;
        let text = last ? cell : cell.padEnd(widths[c]!);
        if (last && style.width !== undefined) text = cut(text, Math.max(0, style.width - used));
        used += text.length + 2;
        // Pad before colouring: escape codes must not count as width.
        return paint(style, tones(r, c), text);
      })
      .join('  ')
      .trimEnd();
  });
}

const cut = (s: string, n: number) => (s.length <= n ? s : n <= 1 ? s.slice(0, n) : `${s.slice(0, n - 1)}…`);

/** `cut` for a line that may hold colour codes (ours, all `ESC[…m`): only visible characters count. */
function cutVisible(line: string, n: number): string {
  if (stripVTControlCharacters(line).length <= n) return line;
  let out = '';
  let shown = 0;
  for (let i = 0; i < line.length && shown < n - 1; i++) {
    if (line[i] === ESC) {
      const end = line.indexOf('m', i);
      out += line.slice(i, end + 1);
      i = end;
    } else {
      out += line[i];
      shown++;
    }
  }
  return `${out}…${line.includes(ESC) ? `${ESC}[0m` : ''}`;
}

export function stepTable(steps: Step[], style: Style, now = Date.now()): string[] {
  if (!steps.length) return ['(no step progress yet)'];
  const rows = [
    ['STEP', 'STATUS', 'ATTEMPTS', 'STARTED', 'TOOK', 'NOTE'],
    ...steps.map((s) => [
      s.name,
      s.status,
      String(s.attempts),
      formatTime(s.startedAt),
      stepDuration(s, now),
      stepNote(s),
    ]),
  ];
  return table(rows, style, (r, c) => (r === 0 ? 'bold' : c === 1 ? STEP_TONE[steps[r - 1]!.status] : undefined));
}

/** A provisioning or an operation: the header, the steps, and what it produced or why it stopped. */
export function statusView(v: RunView, style: Style, now = Date.now()): string[] {
  const elapsed = v.startedAt
    ? formatDuration((v.closedAt ? Date.parse(v.closedAt) : now) - Date.parse(v.startedAt))
    : '';
  const lines = [
    `${paint(style, 'bold', v.id)}  ${paint(style, statusTone(v.status), v.status)}${elapsed ? `  ${elapsed}` : ''}`,
    `phase: ${v.phase}`,
  ];
  if ('kind' in v) lines.push(`operation: ${v.kind}${v.scheduled ? ' (scheduled)' : ''} of ${v.bindingId}`);
  if (v.cluster || v.credentialSpecName)
    lines.push(`cluster: ${v.cluster ?? '?'}  spec: ${v.credentialSpecName ?? '?'}`);
  lines.push('', ...stepTable(v.steps, style, now), '');
  if ('approval' in v && v.approval) {
    const comment = v.approval.comment ? `: ${JSON.stringify(v.approval.comment)}` : '';
    lines.push(`approved by ${v.approval.by} at ${formatTime(v.approval.at)}${comment}`);
  }
  if (v.error) lines.push(paint(style, 'red', `error: ${v.error}`));
  if (v.outputs) {
    lines.push('outputs:');
    for (const [k, val] of Object.entries(v.outputs))
      if (val !== undefined) lines.push(`  ${k}: ${typeof val === 'string' ? val : JSON.stringify(val)}`);
  }
  lines.push(`Temporal UI: ${v.links.temporalUi}`);
  return style.width === undefined ? lines : lines.map((l) => cutVisible(l, style.width!));
}

export function listTable(items: ProvisioningSummary[], style: Style): string[] {
  if (!items.length) return ['no provisionings'];
  const rows = [
    ['ID', 'STATUS', 'CLUSTER', 'SPEC', 'STARTED', 'CLOSED'],
    ...items.map((i) => [
      i.id,
      i.status,
      i.cluster ?? '',
      i.credentialSpecName ?? '',
      formatTime(i.startedAt),
      formatTime(i.closedAt),
    ]),
  ];
  return table(rows, style, (r, c) => (r === 0 ? 'bold' : c === 1 ? statusTone(items[r - 1]!.status) : undefined));
}

export function operationsTable(items: OperationSummary[], style: Style): string[] {
  if (!items.length) return ['no operations'];
  const rows = [
    ['ID', 'KIND', 'STATUS', 'STARTED', 'CLOSED'],
    ...items.map((i) => [
      i.id,
      `${i.kind}${i.scheduled ? ' (scheduled)' : ''}`,
      i.status,
      formatTime(i.startedAt),
      formatTime(i.closedAt),
    ]),
  ];
  return table(rows, style, (r, c) => (r === 0 ? 'bold' : c === 2 ? statusTone(items[r - 1]!.status) : undefined));
}

const isAccessReport = (r: Record<string, unknown>): r is AccessReport & Record<string, unknown> =>
  Array.isArray(r.pools) && Array.isArray(r.principals) && Array.isArray(r.problems) && typeof r.vault === 'object';

/**
 * The access report (domain/access-report.ts) as tables: every pool, every principal with read, and what is wrong.
 * Another shape (a newer API) is shown as the JSON it is.
 */
export function accessView(report: Record<string, unknown>, style: Style): string[] {
  if (!isAccessReport(report)) return [JSON.stringify(report, null, 2)];
  const { vault, pools, principals, problems } = report;
  const lines = [
    `${paint(style, 'bold', report.bindingId)}  secret ${vault.secretName} in ${vault.id} (${vault.accessModel})`,
    ...(report.wholeVault
      ? ['an access policy cannot scope: whoever reads this secret reads every secret of the vault']
      : []),
    '',
  ];
  const tone = (ok: boolean): Tone => (ok ? 'green' : 'red');
  lines.push(
    ...table(
      [
        ['POOL', 'OS', 'SHOULD READ', 'CAN READ', 'STATUS', 'NOTE'],
        ...pools.map((p) => [
          p.name,
          p.osSku ?? p.osType,
          p.shouldRead ? 'yes' : 'no',
          p.canRead ? 'yes' : 'no',
          p.status,
          p.note,
        ]),
      ],
      style,
      (r, c) => (r === 0 ? 'bold' : c === 4 ? tone(['ok', 'absent'].includes(pools[r - 1]!.status)) : undefined),
    ),
    '',
  );
  lines.push(
    ...table(
      [
        ['PRINCIPAL', 'ROLE', 'EXPECTED', 'POOLS', 'GRANTS'],
        ...principals.map((p) => [
          p.principalId,
          p.role,
          p.expected ? 'yes' : 'no',
          p.pools.join(',') || '-',
          p.grants.map((g) => g.role ?? g.via).join(', '),
        ]),
      ],
      style,
      (r, c) => (r === 0 ? 'bold' : c === 2 ? tone(principals[r - 1]!.expected) : undefined),
    ),
    '',
  );
  if (problems.length) lines.push(paint(style, 'red', 'problems:'), ...problems.map((p) => `  ${p}`));
  else lines.push(paint(style, 'green', 'no problems: access is as the binding says'));
  return lines;
}

/** One line for a step that changed, for logs and pipes. */
export function stepChangeLine(step: Step, now = Date.now()): string {
  const took = step.endedAt ? stepDuration(step, now) : '';
  return [
    step.name.padEnd(21),
    step.status.padEnd(9),
    // Waits that are no activity (the AD approval) have no attempts.
    ...(step.attempts ? [`attempt ${step.attempts}`] : []),
    ...(took ? [took] : []),
    ...(stepNote(step) ? [stepNote(step)] : []),
  ].join('  ');
}

/** An error as the user should read it; the API's problem in full, with every field error. */
export function errorLines(err: unknown, tokenSource?: string): string[] {
  if (err instanceof UsageError || err instanceof Unreachable) return [`error: ${err.message}`];
  if (!(err instanceof ApiError)) return [`error: ${err instanceof Error ? err.message : String(err)}`];
  const p = err.problem;
  const head = `error: ${p?.title ?? 'HTTP error'} (${err.status})`;
  const lines = [p?.detail ? `${head}: ${p.detail}` : head];
  for (const e of p?.errors ?? []) lines.push(`  ${e.field}: ${e.message}`);
  if (p?.runningId) {
    // An operation's id is `<binding>.<kind>`; a provisioning's has no dot.
    const follow = p.runningId.includes('.') ? `operation ${p.runningId} --watch` : `watch ${p.runningId}`;
    lines.push(`  running: ${p.runningId}  (aks-gmsa ${follow})`);
  }
  if (err.text) lines.push(`  ${oneLine(err.text)}`);
  if ((err.status === 401 || err.status === 403) && tokenSource) lines.push(`  token used: ${tokenSource}`);
  return lines;
}
