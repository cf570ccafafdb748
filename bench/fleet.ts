/**
 * A fleet at once (issue 11, DESIGN "Many at once"): N bindings started together through the REST API against the
 * lab, with the Azure fake's latency model on. Prints, per fleet: bindings, completed, failed, wall time, scale-set
 * PATCHes sent (and refused 409), Temporal schedule-to-start p99 from the runs' histories, and each worker's
 * maximum resident memory; then the floor, the larger of the same fleet's wall with zero latency (what the CPUs
 * need) and one binding's wall with the latency model, both measured in the same run, and wall / floor; and what
 * the fake drew for the vault creates, since the fleet waits on the slowest of its n draws (fleet/draws.ts). Then, per
 * fleet, where the time went: each activity type's scheduled → closed times and retries, how many activities ran
 * at once, and the CPU seconds of each process against the whole machine's (a shared machine shows here).
 *
 *   npm run bench:fleet -- --n 200 --latency 0.05          each binding its own identity, vault, gMSA, user, spec
 *   npm run bench:fleet -- --n 200 --shared-identity       one managed identity for all: one PATCH in all
 *   npm run bench:fleet -- --clusters 5                    one gMSA (user, vault, secret) on 5 clusters at once
 *   npm run bench:fleet -- --n 50 --workers 2 --kill-every 5
 *                                                          the fleet without kills, then with a worker SIGKILLed
 *                                                          every 5 s; both walls, and no Azure or AD object twice
 *   npm run bench:fleet -- --n 200 --median-lro            Azure's operations at the model's medians, not draws:
 *                                                          the fleet's wall is then not its slowest draw's
 *
 * It starts what it needs and stops what it started: its own Temporal dev server, the Azure fake under a private
 * lab directory, the shared Samba DC and kube-apiserver when they are not up (reused, and left alone, when they
 * are), the API and the workers as processes (compiled from dist/, built when older than the sources; --source
 * runs the sources under tsx). Each fleet runs on clusters of its own, seeded in the fake, so each enables gMSA
 * once. A warm-up binding runs first. Afterwards it removes the run's AD accounts and credential specs from the
 * shared DC and API server. Loopback only; bounded by --timeout; a benchmark that asserts nothing: exit 0 unless it
 * could not run (or ran out of time).
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProvisioningView } from '../api/schemas.js';
import { chainAfter, enableDraws, vaultDraws } from './fleet/draws.js';
import { distribution } from './fleet/history.js';
import { startFleetLab, Teardown, workerAllocator, type FleetLab } from './fleet/lab.js';
import { parseOptions, USAGE, UsageError, type FleetOptions } from './fleet/options.js';
import { ensureBuilt } from './fleet/product.js';
import { printFailures, printLosses, printTable, printWhereTimeGoes } from './fleet/report.js';
import { fleet, namePrefix, type Fleet, type Layout } from './fleet/requests.js';
import { medianLros, runFleet, type FleetFigures } from './fleet/run.js';
import { duplicateCheck, removeObjects } from './fleet/world.js';

/** Set once a signal or the time bound stops the bench: the teardown has begun and exits by itself. */
let aborted = false;
const say = (line: string) => console.log(`# ${line}`);
const seconds = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

function layoutOf(o: FleetOptions): Layout {
  if (o.clusters > 1) return 'one-gmsa-many-clusters';
  return o.sharedIdentity ? 'shared-identity' : 'own-identity';
}

function describe(o: FleetOptions): string {
  const what =
    o.clusters > 1
      ? `one gMSA on ${o.clusters} clusters`
      : `${o.n} bindings on one cluster, ${o.sharedIdentity ? 'one shared identity' : 'each its own identity'}, ` +
        `${o.vaults.vaults === 'cluster' ? "the secrets in the cluster's vault" : 'a vault each'}`;
  const preload = o.workerEnv.LD_PRELOAD ?? workerAllocator() ?? '';
  return (
    `fleet: ${what} (${o.vaults.access === 'rbac' ? 'RBAC' : 'access policies'}), latency model ${o.latency}, ${o.workers} worker${o.workers > 1 ? 's' : ''} ` +
    `(${o.source ? 'sources under tsx' : 'compiled'}, ${/jemalloc/.test(preload) ? 'jemalloc' : 'glibc malloc'}), ` +
    `${os.cpus().length} cores`
  );
}

/** The chain check of each run, as the API shows it: verifyChain's status and summary. */
async function chainChecks(lab: FleetLab, f: FleetFigures): Promise<void> {
  let passed = 0;
  const views: ProvisioningView[] = [];
  for (const id of f.ids) {
    const res = await fetch(`${lab.apiUrl}/v1/provisionings/${id}`, {
      headers: { authorization: `Bearer ${lab.tokens.viewer}` },
    });
    views.push((await res.json()) as ProvisioningView);
  }
  for (const view of views.sort((a, b) => String(a.cluster).localeCompare(String(b.cluster)))) {
    const step = view.steps?.find((st) => st.name === 'verifyChain');
    if (step?.status === 'succeeded') passed += 1;
    console.log(
      `  ${String(view.cluster).padEnd(20)} ${view.status.padEnd(10)} verifyChain ${step?.status ?? 'absent'}` +
        `${step?.summary ? `: ${step.summary}` : ''}${step?.lastError ? ` (${step.lastError.message})` : ''}`,
    );
  }
  console.log(`  chain checks passed: ${passed}/${f.ids.length}${passed === f.ids.length ? ' (every one)' : ''}`);
}

/** Runs the fleets of the chosen mode (recording each in `fleets` as it starts) and prints; false if time ran out. */
async function bench(o: FleetOptions, lab: FleetLab, tag: string, deadline: number, fleets: Fleet[]): Promise<boolean> {
  const layout = layoutOf(o);
  const run = async (f: Fleet, latency: number, killEveryMs = 0, fixedLro = false) => {
    if (Date.now() > deadline) throw new Error(`out of time (--timeout) before "${f.label}"`);
    fleets.push(f);
    say(
      `${f.label}: ${f.requests.length} binding${f.requests.length > 1 ? 's' : ''} on ${f.clusters.length} cluster(s)…`,
    );
    const figures = await runFleet(lab, f, { latency, killEveryMs, deadline, tag, say, fixedLro });
    say(`  ${figures.completed} completed, ${figures.failed} failed, wall ${seconds(figures.wallMs)}`);
    return figures;
  };

  await run(fleet(tag, 'w', 'own-identity', 1, 'warm-up, zero latency'), 0);
  const rows: FleetFigures[] = [];
  if (o.killEveryMs > 0) {
    // Both fleets' long-running operations take the model's medians (run.ts medianLros), not a draw each.
    const calm = await run(
      fleet(tag, 'b', layout, o.n, `fleet, latency ${o.latency}, no kills`, o.vaults),
      o.latency,
      0,
      true,
    );
    const killed = await run(
      fleet(tag, 'k', layout, o.n, `fleet, SIGKILL every ${o.killEveryMs / 1000} s`, o.vaults),
      o.latency,
      o.killEveryMs,
      true,
    );
    rows.push(calm, killed);
    console.log(`\n${describe(o)}\n`);
    const medians = Object.entries(medianLros(o.latency))
      .map(([op, ms]) => `${op} ${seconds(ms)}`)
      .join(', ');
    console.log(`both fleets' long-running operations take the latency model's medians (${medians}): one draw each`);
    console.log(`otherwise, with long tails, and the wall is the slowest binding's; the difference is the kills'\n`);
    printTable(rows);
    const diff = calm.wallMs !== undefined && killed.wallMs !== undefined ? killed.wallMs - calm.wallMs : undefined;
    console.log(
      `\nkills: ${killed.kills?.kills ?? 0} workers SIGKILLed and restarted` +
        `${killed.kills?.restartFailures.length ? ` (restarts that failed: ${killed.kills.restartFailures.join('; ')})` : ''}`,
    );
    console.log(
      `wall without kills ${seconds(calm.wallMs)}, with kills ${seconds(killed.wallMs)}: ` +
        `${diff === undefined ? '—' : `${diff >= 0 ? '+' : ''}${(diff / 1000).toFixed(1)} s`}`,
    );
    for (const f of [calm, killed]) {
      const check = await duplicateCheck(lab, f.fleet);
      console.log(`\nno object twice, "${f.fleet.label}": ${check.twice.length ? 'NO' : 'yes'}`);
      for (const line of [...check.lines, ...check.twice.map((t) => `TWICE: ${t}`)]) console.log(`  ${line}`);
    }
    printWhereTimeGoes(calm);
    printWhereTimeGoes(killed);
    printLosses(calm);
    printLosses(killed);
  } else {
    const floors = !o.noFloor;
    const one = floors
      ? await run(
          fleet(tag, 'o', 'own-identity', 1, `one binding, latency ${o.latency}`, o.vaults),
          o.latency,
          0,
          o.medianLro,
        )
      : undefined;
    const zero =
      floors && o.latency > 0 ? await run(fleet(tag, 'z', layout, o.n, 'fleet, zero latency', o.vaults), 0) : undefined;
    const main = await run(
      fleet(tag, 'l', layout, o.n, `fleet, latency ${o.latency}`, o.vaults),
      o.latency,
      0,
      o.medianLro,
    );
    rows.push(...[one, zero, main].filter((r): r is FleetFigures => r !== undefined));
    console.log(`\n${describe(o)}\n`);
    if (o.medianLro) console.log(`long-running operations take the latency model's medians, not draws\n`);
    printTable(rows);
    if (one) {
      const cpu = zero ? zero.wallMs : main.wallMs;
      const floor = cpu !== undefined && one.wallMs !== undefined ? Math.max(cpu, one.wallMs) : undefined;
      const ratio = (a?: number, b?: number) => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : '—');
      console.log(
        `\nfloor = max(fleet at zero latency ${seconds(cpu)}, one binding at latency ${o.latency} ${seconds(one.wallMs)})` +
          ` = ${seconds(floor)}`,
      );
      console.log(
        `fleet at latency ${o.latency}: wall ${seconds(main.wallMs)} = ${ratio(main.wallMs, floor)} the floor, ` +
          `${ratio(main.wallMs, one.wallMs)} one binding's wall; PATCHes ${main.arm.patches}`,
      );
      // The floor's one binding draws each long-running operation once; the fleet waits on the slowest of its own.
      const { operations } = await lab.admin.state();
      const oneSteps = one.history.runs[0]?.steps ?? [];
      let critical = floor;
      for (const [what, step, drawsOf] of [
        ['vault creates', 'ensureKeyVault', vaultDraws],
        ['gMSA enables', 'confirmAksGmsa', enableDraws],
      ] as const) {
        const [oneDraw] = drawsOf(operations, one.fleet);
        const draws = drawsOf(operations, main.fleet);
        if (oneDraw === undefined || !draws.length || critical === undefined) continue;
        const slowest = Math.max(...draws);
        // What the one binding's steps after that step took, uncontended, added to the fleet's slowest draw.
        const after = chainAfter(step, (name) => oneSteps.find((st) => st.name === name)?.ms ?? 0);
        critical = Math.max(critical, slowest + after);
        console.log(
          `${what} drawn: the one binding's ${seconds(oneDraw)}, the fleet's ${draws.length} p50 ` +
            `${seconds(distribution(draws).p50)} / max ${seconds(slowest)}; that max plus the one binding's steps ` +
            `after ${step} (${seconds(after)}) = ${seconds(slowest + after)}`,
        );
      }
      if (critical !== undefined && critical !== floor) {
        console.log(
          `the fleet's wall is ${ratio(main.wallMs, critical)} the larger of those and the floor (${seconds(critical)})`,
        );
      }
    }
    if (zero) printWhereTimeGoes(zero);
    printWhereTimeGoes(main);
    printLosses(main);
    if (layout === 'one-gmsa-many-clusters') {
      console.log(`\nchain checks of "${main.fleet.label}" (GET /v1/provisionings/{id}, step verifyChain)`);
      await chainChecks(lab, main);
    }
  }
  for (const f of rows) printFailures(f);
  return rows.every((r) => r.open === 0);
}

async function main(): Promise<number> {
  let o: FleetOptions;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof TypeError)) throw err;
    if (err.message) console.error(err.message);
    console.error(USAGE);
    return 2;
  }
  const deadline = Date.now() + o.timeoutMs;
  if (!o.source && !o.noBuild) ensureBuilt();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'aks-gmsa-fleet-'));
  const teardown = new Teardown();
  teardown.add('temporary directory', () => {
    if (o.keepLogs && existsSync(path.join(tmp, 'logs')))
      cpSync(path.join(tmp, 'logs'), o.keepLogs, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
  });
  const abort = (why: string) => {
    aborted = true;
    console.error(`\n${why}: stopping what the bench started`);
    void teardown.run().then(() => process.exit(1));
  };
  process.once('SIGINT', () => abort('interrupted'));
  process.once('SIGTERM', () => abort('terminated'));
  // The fleets wait until the deadline at most; this bounds setup and teardown too.
  setTimeout(
    () => abort(`still running ${Math.round(o.timeoutMs / 60_000)} min + 2 after the start`),
    o.timeoutMs + 120_000,
  ).unref();
  // Every name of the run's objects starts with the tag's prefix: the shared DC and API server are cleaned by it.
  const tag = randomBytes(3).readUIntBE(0, 3).toString(36).padStart(4, '0').slice(-4);
  const fleets: Fleet[] = [];
  try {
    const lab = await startFleetLab(o, tmp, teardown, say);
    say(`the names of this run's objects start with ${namePrefix(tag)}`);
    // Before the lab stops (teardown runs newest first), also when interrupted or out of time.
    if (!o.keepObjects) {
      const prefix = namePrefix(tag);
      teardown.add("the run's AD accounts and credential specs", async () => {
        if (!fleets.length) return;
        // The workers first: one still running would create what was just removed.
        await Promise.all(lab.workers.map((w) => w.process.stop()));
        say(await removeObjects(lab, fleets, [prefix, `gmsa-${prefix}`]));
      });
    }
    const ok = await bench(o, lab, tag, deadline, fleets);
    if (!ok)
      console.error(`\nthe bench ran out of time (--timeout ${o.timeoutMs / 60_000} min): some runs never closed`);
    return ok ? 0 : 1;
  } finally {
    await teardown.run();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Once interrupted, what fails is what the teardown stopped under the bench's feet: abort() exits.
    if (aborted) return;
    console.error(`bench:fleet could not run: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
