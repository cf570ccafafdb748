/** The bench's printout: one table row per fleet, then the ratios, where the time went, and why runs failed. */
import os from 'node:os';
import { WORKFLOW_TASK_TIMEOUT } from '../../temporal/run-options.js';
import { distribution, mostAtOnce, type Loss } from './history.js';
import type { FleetFigures } from './run.js';

/** @temporalio/worker's maxConcurrentActivityTaskExecutions when the worker sets none (worker/create-worker.ts). */
const ACTIVITY_SLOTS = 100;
const s = (ms: number | undefined) => (ms === undefined ? '—' : (ms / 1000).toFixed(1));
const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)}`;

const COLUMNS: Array<[string, number, (f: FleetFigures) => string]> = [
  ['run', 34, (f) => f.fleet.label],
  ['bindings', 8, (f) => String(f.fleet.requests.length)],
  ['done', 5, (f) => String(f.completed)],
  ['failed', 6, (f) => String(f.failed) + (f.open ? ` +${f.open} open` : '')],
  ['wall s', 7, (f) => s(f.wallMs)],
  ['PATCHes (409)', 13, (f) => `${f.arm.patches} (${f.arm.patchesRefused})${f.arm.gap ? '≥' : ''}`],
  ['ARM calls', 9, (f) => String(f.arm.requests)],
  ['act wait p99 ms', 15, (f) => distribution(f.history.activityWaitMs).p99.toFixed(0)],
  ['wft wait p99 ms', 15, (f) => distribution(f.history.workflowTaskWaitMs).p99.toFixed(0)],
  ['worker RSS max MB', 17, (f) => f.workerRss.map(mb).join(' / ')],
  ['load max', 8, (f) => f.loadMax.toFixed(1)],
];

export function printTable(rows: FleetFigures[]): void {
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[i]![1]) : c.padStart(COLUMNS[i]![1]))).join('  ');
  console.log(line(COLUMNS.map(([h]) => h)));
  for (const f of rows) console.log(line(COLUMNS.map(([, , cell]) => cell(f))));
  console.log(
    '  act/wft wait: Temporal schedule-to-start (ActivityTaskScheduled → Started, first attempts; WorkflowTask' +
      ' likewise) from the runs’ histories; RSS sampled every second per worker (VmRSS); load: 1-minute average',
  );
}

/** `n answered 409 (op n, …)` for the fleet's 409s. */
const conflicts = (f: FleetFigures) => {
  const byOp = Object.entries(f.arm.conflictsByOp).sort((a, b) => b[1] - a[1]);
  const total = byOp.reduce((sum, [, n]) => sum + n, 0);
  return `${total} answered 409${byOp.length ? ` (${byOp.map(([op, n]) => `${op} ${n}`).join(', ')})` : ''}`;
};

/** Per activity type, scheduled → closed over the fleet's runs: where a binding's wall time goes. */
export function printWhereTimeGoes(f: FleetFigures): void {
  console.log(`\nwhere the time goes in "${f.fleet.label}" (per activity, scheduled → closed, retries included)`);
  console.log(
    `  ${'activity'.padEnd(24)}${'n'.padStart(6)}${'p50 s'.padStart(8)}${'p99 s'.padStart(8)}` +
      `${'max s'.padStart(8)}${'retried'.padStart(9)}${'attempts'.padStart(10)}`,
  );
  const kinds = [...f.history.byActivity.entries()].sort(
    (a, b) => distribution(b[1].closeMs).p99 - distribution(a[1].closeMs).p99,
  );
  for (const [name, k] of kinds) {
    const d = distribution(k.closeMs);
    console.log(
      `  ${name.padEnd(24)}${String(d.n).padStart(6)}${s(d.p50).padStart(8)}${s(d.p99).padStart(8)}${s(d.max).padStart(8)}` +
        `${String(k.retried).padStart(9)}${String(k.attempts).padStart(10)}`,
    );
  }
  console.log(
    `  activities running at once (last attempts): at most ${mostAtOnce(f.history.activityRunning)}` +
      ` (${f.workerRss.length} worker(s); the SDK's default is ${ACTIVITY_SLOTS} activity slots each)`,
  );
  const act = distribution(f.history.activityWaitMs);
  const wft = distribution(f.history.workflowTaskWaitMs);
  console.log(
    `  waiting for a worker: activities p50 ${act.p50.toFixed(0)} / p99 ${act.p99.toFixed(0)} / max ${act.max.toFixed(0)} ms ` +
      `(${act.n}); workflow tasks p50 ${wft.p50.toFixed(0)} / p99 ${wft.p99.toFixed(0)} / max ${wft.max.toFixed(0)} ms (${wft.n})`,
  );
  const run = distribution(f.history.workflowTaskRunMs);
  console.log(
    `  workflow tasks started → completed: p50 ${run.p50.toFixed(0)} / p99 ${run.p99.toFixed(0)} / max ` +
      `${run.max.toFixed(0)} ms (${run.n}), against the workflow task timeout of ${WORKFLOW_TASK_TIMEOUT}`,
  );
  const cpu = Object.entries(f.cpu)
    .map(([part, sec]) => `${part} ${sec.toFixed(1)}`)
    .join(', ');
  const cores = os.cpus().length;
  const ours = Object.values(f.cpu).reduce((a, b) => a + b, 0);
  const machine =
    f.machineBusy === undefined
      ? ''
      : `; the machine was busy ${f.machineBusy.toFixed(0)}, of which ${Math.max(0, f.machineBusy - ours).toFixed(0)} ` +
        `not these processes (Samba, kube-apiserver, and whatever else runs)`;
  console.log(
    `  CPU seconds: ${cpu}` +
      (f.wallMs ? ` (${((f.wallMs / 1000) * cores).toFixed(0)} core-seconds in the wall time on ${cores} cores)` : '') +
      machine,
  );
  console.log(
    `  ARM: ${f.arm.requests} calls, ${conflicts(f)}, ${f.arm.throttled} answered 429; API RSS max ${mb(f.apiRss)} MB` +
      (f.workerExits.length ? `; workers that exited by themselves: ${f.workerExits.join(', ')}` : ''),
  );
}

const lossLine = (what: string, l: Loss) =>
  `  ${what.padEnd(58)}${String(l.n).padStart(6)}${s(l.ms).padStart(9)}${l.n ? s(l.ms / l.n).padStart(8) : '       —'}`;

/**
 * What the fleet's runs lost to timeouts and retries (history.ts Losses), and for a fleet with kills, what each
 * worker restart took: where a kill run's extra time goes.
 */
export function printLosses(f: FleetFigures): void {
  const l = f.history.losses;
  console.log(`\nwhat the runs of "${f.fleet.label}" lost (from their histories)`);
  console.log(`  ${'cause'.padEnd(58)}${'n'.padStart(6)}${'total s'.padStart(9)}${'mean s'.padStart(8)}`);
  console.log(lossLine('activity retried after a heartbeat timeout', l.activityHeartbeatTimeout));
  console.log(lossLine('activity retried after its start-to-close timeout', l.activityStartToCloseTimeout));
  console.log(lossLine('activity retried after a failure', l.activityOtherRetry));
  console.log(lossLine('workflow task timed out, started (workflow task timeout)', l.workflowTaskStartToClose));
  console.log(lossLine('workflow task timed out, queued (sticky schedule-to-start)', l.workflowTaskScheduleToStart));
  console.log(lossLine('workflow task failed', l.workflowTaskFailed));
  const runs = [...f.history.runs].sort((a, b) => b.wallMs - a.wallMs);
  const wall = distribution(runs.map((r) => r.wallMs));
  const lost = distribution(runs.map((r) => r.lostMs));
  console.log(
    `  per run: wall p50 ${s(wall.p50)} / max ${s(wall.max)} s; lost p50 ${s(lost.p50)} / max ${s(lost.max)} s` +
      (runs[0] ? ` (the slowest run lost ${s(runs[0].lostMs)} s of its ${s(runs[0].wallMs)} s)` : ''),
  );
  // The wall is the slowest run's: what it waited on says whether the tail is Azure's draw or the engine's.
  const slowest = runs[0]?.steps
    .filter((st) => st.ms >= 1000)
    .map((st) => `${st.name} ${s(st.ms)}${st.attempts > 1 ? ` (${st.attempts} attempts)` : ''}`);
  if (slowest?.length) console.log(`  the slowest run's steps of 1 s or more: ${slowest.join(', ')}`);
  const c = f.coordinators;
  if (c.runs) {
    const took = distribution(c.patches.map((p) => p.ms));
    const attempts = c.patches.reduce((a, p) => a + p.attempts, 0);
    console.log(
      `  scale-set coordinators: ${c.runs} run(s), ${c.patches.length} PATCH step(s) in ${attempts} attempt(s), ` +
        `scheduled → closed p50 ${s(took.p50)} / max ${s(took.max)} s; workflow tasks timed out ` +
        `${c.workflowTaskTimeouts.started} started, ${c.workflowTaskTimeouts.queued} queued; ` +
        `first change → last outcome ${s(c.spanMs)} s`,
    );
  }
  const k = f.kills;
  if (k?.restartMs.length) {
    const r = distribution(k.restartMs);
    const cpu = distribution(k.startCpuSeconds.map((c) => c * 1000));
    const total = k.startCpuSeconds.reduce((a, b) => a + b, 0);
    console.log(
      `  worker restarts: ${k.restartMs.length}, SIGKILL → ready p50 ${s(r.p50)} / max ${s(r.max)} s; ` +
        `CPU to ready p50 ${s(cpu.p50)} / max ${s(cpu.max)} s, ${total.toFixed(1)} s in all`,
    );
  }
}

export function printFailures(f: FleetFigures): void {
  if (!f.failures.length && !f.open) return;
  console.log(`\n"${f.fleet.label}": ${f.failed} failed${f.open ? `, ${f.open} still open at the deadline` : ''}`);
  for (const [reason, count] of f.failures.slice(0, 5)) console.log(`  ${String(count).padStart(4)}×  ${reason}`);
  if (f.failures.length > 5) console.log(`  … and ${f.failures.length - 5} other reasons`);
}
