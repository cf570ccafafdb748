/**
 * `npm test`: starts the real peers the suites need (a throwaway Temporal dev server, the time-skipping server,
 * the lab parts), runs every test file with Node's test runner, and stops what it started. A peer that cannot
 * start fails the run with its name and reason: no suite skips for a missing peer.
 *
 *   npm test                      all tests
 *   npm test -- test/unit         only files under these paths
 *   TEST_NAME_PATTERN=re npm test only the tests whose names match
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../lab/paths.js';
import type { LabPart } from '../lab/part.js';
import { freePort } from '../lab/process.js';
import { TemporalExited, temporalBinary, temporalLab } from '../lab/temporal.js';
import { integrationLabParts } from './peers.js';

function testFiles(roots: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) for (const e of readdirSync(p).sort()) walk(path.join(p, e));
    else if (p.endsWith('.test.ts')) out.push(p);
  };
  for (const r of roots) walk(path.resolve(PROJECT_ROOT, r));
  return out;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const all = testFiles(args.length ? args : ['test']);
  if (!all.length) throw new Error(`no test files under ${args.join(' ') || 'test'}`);
  // The chaos tier (test/chaos) kills and restarts shared peers: it runs last, one file at a time, so it disturbs
  // no other suite.
  const isChaos = (f: string) => f.includes(`${path.sep}test${path.sep}chaos${path.sep}`);
  const chaos = all.filter(isChaos);
  const files = all.filter((f) => !isChaos(f));

  const started: LabPart[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'aks-gmsa-test-'));
  try {
    // A peer that was up before this run (a developer's lab, another run) is reused and left running.
    const peer = async (part: LabPart) => {
      const t0 = Date.now();
      const reused = part.running();
      try {
        Object.assign(env, await part.start(env as Record<string, string>));
      } catch (err) {
        // What this run started and did not come up is stopped again (by its own pid file), never a reused one.
        if (!reused) await part.stop().catch(() => undefined);
        throw new Error(`peer ${part.name} could not start: ${(err as Error).message}`, { cause: err });
      }
      if (!reused) started.push(part);
      console.log(`# peer ${part.name} ${reused ? 'reused' : 'ready'} in ${Date.now() - t0} ms`);
    };
    if (!process.env.TEMPORAL_ADDRESS) {
      // The dev server is an outside binary that binds the port itself, so a port free when chosen can be taken
      // before it listens (and it picks more ports of its own): on "address in use" start again on a new port.
      for (let attempt = 1; ; attempt++) {
        const dir = path.join(tmp, `temporal-${attempt}`);
        try {
          await peer(temporalLab({ port: await freePort(), headless: true, dir, dbFile: path.join(dir, 'db.sqlite') }));
          break;
        } catch (err) {
          const taken =
            (err as Error).cause instanceof TemporalExited && ((err as Error).cause as TemporalExited).portTaken;
          if (!taken || attempt === 5) throw err;
          console.log(`# peer temporal: a port was taken as it started (attempt ${attempt}); trying another`);
        }
      }
    }
    env.TEMPORAL_TEST_SERVER_PATH ??= temporalBinary('test-server');
    const needs = (dir: string) =>
      files.some(
        (f) =>
          f.includes(`${path.sep}integration${path.sep}${dir}${path.sep}`) || f.includes(`${path.sep}e2e${path.sep}`),
      ) || chaos.length > 0;
    for (const { dir, part } of integrationLabParts()) if (needs(dir)) await peer(part);

    const concurrency = process.env.TEST_CONCURRENCY ?? '2';
    // A bound on every test file: a hung test fails its file, named, instead of stalling the run. Node 20's runner
    // applies --test-timeout to each file as a whole (and each test in it inherits it), so the bound sits well above
    // the slowest file: the CLI suite, about 2 minutes at TEST_CONCURRENCY=4 on 2 shared cores.
    const timeoutMs = process.env.TEST_TIMEOUT_MS ?? '600000';
    const phase = (list: string[], parallel: string) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--test',
          `--test-concurrency=${parallel}`,
          `--test-timeout=${timeoutMs}`,
          // TEST_NAME_PATTERN: only the tests whose names match (a developer's loop on one test).
          ...(process.env.TEST_NAME_PATTERN ? [`--test-name-pattern=${process.env.TEST_NAME_PATTERN}`] : []),
          ...list,
        ],
        {
          cwd: PROJECT_ROOT,
          env,
          stdio: 'inherit',
        },
      );
      return new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
    };
    const first = files.length ? await phase(files, concurrency) : 0;
    if (!chaos.length) return first;
    console.log(`# chaos phase: ${chaos.length} files, one at a time`);
    const t0 = Date.now();
    const second = await phase(chaos, '1');
    console.log(`# chaos phase took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return first || second;
  } finally {
    for (const part of started.reverse())
      await part.stop().catch((e: unknown) => console.error(`# stopping ${part.name}:`, e));
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`test run failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
