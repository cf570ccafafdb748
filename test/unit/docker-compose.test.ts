/**
 * docker-compose.yml cannot run here (no Docker engine); its structure is checked instead, and the build's output is
 * computed with the TypeScript compiler (without emitting) to check that the commands run files `npm run build` writes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../lab/paths.js';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';

const compose = parse(readFileSync(`${PROJECT_ROOT}/docker-compose.yml`, 'utf8'));
const dockerfile = readFileSync(`${PROJECT_ROOT}/Dockerfile`, 'utf8');

test('temporal runs the official image as a dev server with its UI, persisted, with our search attributes', () => {
  const t = compose.services.temporal;
  assert.match(t.image, /^temporalio\/temporal:\d+\.\d+\.\d+$/, 'a pinned official image');
  assert.deepEqual(t.command.slice(0, 2), ['server', 'start-dev']);
  assert.ok(t.command.includes('--ip=0.0.0.0'));
  assert.ok(
    t.command.some((a: string) => a.startsWith('--db-filename=/home/temporal/')),
    'state on the volume',
  );
  for (const key of Object.values(SEARCH_ATTRIBUTES)) {
    assert.ok(t.command.includes(`--search-attribute=${key.name}=Keyword`), `registers ${key.name}`);
  }
  assert.deepEqual(t.ports, ['7233:7233', '8233:8233']);
  assert.ok(t.volumes.some((v: string) => v.startsWith('temporal-data:')) && 'temporal-data' in compose.volumes);
  assert.ok(t.healthcheck.test.includes('health'));
});

test('worker and api are built from the Dockerfile, reach temporal by service name, and wait for it to be healthy', () => {
  for (const name of ['worker', 'api']) {
    const s = compose.services[name];
    assert.equal(s.build, '.');
    assert.equal(s.environment.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(s.depends_on.temporal.condition, 'service_healthy');
  }
  assert.deepEqual(compose.services.worker.command, ['node', 'dist/worker/main.js']);
  assert.deepEqual(compose.services.api.command, ['node', 'dist/api/main.js']);
  assert.match(
    compose.services.api.environment.GMSA_API_TOKENS,
    /^\$\{GMSA_API_TOKENS:\?/,
    'tokens must be given, never defaulted',
  );
  assert.deepEqual(compose.services.api.ports, ['3000:3000']);
});

test('the compiled worker runs as two replicas by default, each free to die: distinct identities, no ports, a grace period that fits', () => {
  const w = compose.services.worker;
  assert.deepEqual(w.command, ['node', 'dist/worker/main.js'], 'the compiled worker, with the prebuilt bundle');
  assert.equal(w.deploy.replicas, 2, 'two workers on one queue unless --scale worker=N says otherwise');
  assert.equal(w.environment.GMSA_TASK_QUEUE, compose.services.api.environment.GMSA_TASK_QUEUE, 'one task queue');
  // The SDK's identity is <pid>@<hostname>: a fixed name would give every replica the same one (and compose
  // refuses container_name with more than one replica); a published port would collide between replicas.
  for (const key of ['container_name', 'hostname', 'ports'])
    assert.equal(w[key], undefined, `worker sets no ${key}: replicas must not share it`);
  assert.equal(w.restart, 'unless-stopped', 'a replica that died is started again');
  // `docker compose stop` sends stop_signal, then SIGKILL after stop_grace_period: it must outlast the worker's
  // own grace for in-flight steps (GMSA_SHUTDOWN_GRACE_SECONDS), or every stop is a kill.
  assert.ok(['SIGTERM', 'SIGINT', undefined].includes(w.stop_signal), `the worker shuts down on ${w.stop_signal}`);
  const grace = Number(w.environment.GMSA_SHUTDOWN_GRACE_SECONDS);
  const stop = /^(\d+)s$/.exec(String(w.stop_grace_period))?.[1];
  assert.ok(
    Number.isFinite(grace) && stop,
    `grace ${w.environment.GMSA_SHUTDOWN_GRACE_SECONDS}, stop ${w.stop_grace_period}`,
  );
  assert.ok(Number(stop) > grace, `stop_grace_period ${stop} s outlasts the worker's ${grace} s`);
  const readme = readFileSync(`${PROJECT_ROOT}/README.md`, 'utf8');
  assert.match(readme, /docker compose up[^\n]*--scale worker=/, 'the README shows how to run more workers');
});

test('the Dockerfile uses a glibc Node 22 image and runs as a non-root user', () => {
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  assert.ok(
    froms.length >= 1 && froms.every((f) => /^node:22-bookworm(-slim)?$/.test(f)),
    `images: ${froms.join(', ')}`,
  );
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /npm ci/);
});

test('the running image preloads jemalloc it installed and limits each V8 heap, as the fleet bench measured', () => {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  assert.match(runtime, /apt-get install -y --no-install-recommends libjemalloc2/);
  const link = /ln -s "\/usr\/lib\/\$\(uname -m\)-linux-gnu\/libjemalloc\.so\.2" (\S+)/.exec(runtime)?.[1];
  assert.ok(link, 'the library is linked to one path whatever the architecture');
  assert.match(runtime, new RegExp(`^ENV LD_PRELOAD=${link.replace(/[.]/g, '\\.')}$`, 'm'));
  assert.match(runtime, /^ENV NODE_OPTIONS=--max-old-space-size=\d+$/m);
});

const PRODUCT = ['contract', 'config', 'domain', 'temporal', 'activities', 'workflows', 'worker', 'api', 'cli'];
const readJson = (file: string) => JSON.parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));

test('npm run build type-checks everything, then emits the product only and bundles its workflows', () => {
  const steps = (readJson('package.json').scripts.build as string).split('&&').map((s) => s.trim());
  const at = (step: string) => steps.indexOf(step);
  assert.ok(at('tsc -p tsconfig.json --noEmit') === 0, `first the whole type check: ${steps.join(' | ')}`);
  assert.ok(at('tsc -p tsconfig.build.json') > 0, 'then the product emit');
  assert.ok(at('tsx scripts/bundle-workflows.ts') > at('tsc -p tsconfig.build.json'), 'then the bundle of its output');
  const clean = steps.findIndex((s) => s.includes('rmSync') && s.includes("'dist'"));
  assert.ok(clean >= 0 && clean < at('tsc -p tsconfig.build.json'), 'dist/ is emptied before the emit');

  const all = readJson('tsconfig.json');
  assert.equal(all.compilerOptions.noEmit, true, 'the whole-tree check never writes lab, test or bench into dist/');
  for (const folder of [...PRODUCT, 'lab', 'test', 'bench', 'scripts']) assert.ok(all.include.includes(folder), folder);
  const build = readJson('tsconfig.build.json');
  assert.equal(build.extends, './tsconfig.json');
  assert.equal(build.compilerOptions.noEmit, false);
  assert.deepEqual([...build.include].sort(), [...PRODUCT].sort());

  const bundler = readFileSync(path.join(PROJECT_ROOT, 'scripts', 'bundle-workflows.ts'), 'utf8');
  assert.match(bundler, /path\.join\(dist, WORKFLOW_BUNDLE_FILE\)/, 'writes the file the compiled worker looks for');
  assert.match(bundler, /from '\.\.\/worker\/create-worker\.js'/);
});

/** Every file `tsc -p tsconfig.build.json` writes: the included folders and all they import, as dist/ paths. */
function buildOutputs(): string[] {
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d: ts.Diagnostic) => assert.fail(String(d.messageText)),
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(PROJECT_ROOT, 'tsconfig.build.json'), {}, host);
  assert.ok(parsed && parsed.errors.length === 0, 'tsconfig.build.json parses');
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const { rootDir, outDir } = parsed.options;
  assert.ok(rootDir && outDir);
  // Where tsc puts a source file's JavaScript (rootDir mirrored under outDir); imports pulled in count as well.
  return program
    .getSourceFiles()
    .filter((f) => !f.isDeclarationFile && !f.fileName.includes('/node_modules/'))
    .map((f) => path.join(outDir, path.relative(rootDir, f.fileName)).replace(/\.ts$/, '.js'))
    .map((out) => path.relative(PROJECT_ROOT, out).split(path.sep).join('/'));
}

test('dist/ holds the product only, and the image and compose commands run files the build writes', () => {
  const outputs = buildOutputs();
  assert.ok(outputs.length > 50, `the build emits the product (${outputs.length} files)`);
  const outside = outputs.filter((o) => !PRODUCT.some((folder) => o.startsWith(`dist/${folder}/`)));
  assert.deepEqual(outside, [], 'no lab, test, bench or scripts code reaches dist/ (not even through an import)');
  assert.ok(outputs.includes('dist/worker/create-worker.js'), 'the worker that looks for dist/workflow-bundle.js');

  assert.match(dockerfile, /^RUN npm run build/m, 'the image builds dist');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  assert.ok(cmd, 'the Dockerfile has an exec-form CMD');
  const commands: string[][] = [JSON.parse(cmd), compose.services.worker.command, compose.services.api.command];
  for (const command of commands) {
    assert.equal(command[0], 'node', JSON.stringify(command));
    assert.ok(outputs.includes(command[1] ?? ''), `${command.join(' ')} runs a file the build writes`);
  }
});

test('the lab profile runs npm start in one container, with its state on volumes', () => {
  const lab = compose.services.lab;
  assert.deepEqual(lab.profiles, ['lab']);
  assert.equal(lab.build.dockerfile, 'Dockerfile.lab');
  assert.equal(lab.network_mode, 'host', 'the lab parts listen on loopback');
  assert.equal(lab.stop_signal, 'SIGINT', 'npm start stops everything on Ctrl-C');
  for (const v of ['lab-state:/app/.lab', 'lab-tools:/app/.tools']) assert.ok(lab.volumes.includes(v), v);
  const dockerfileLab = readFileSync(`${PROJECT_ROOT}/Dockerfile.lab`, 'utf8');
  assert.match(dockerfileLab, /^FROM golang:1\.26-bookworm$/m, 'Go for kube-apiserver and etcd');
  assert.match(dockerfileLab, /python3-venv/, 'Python for the Temporal CLI wheel');
  assert.match(dockerfileLab, /^CMD \["npm", "start"\]$/m);
  for (const name of ['worker', 'api', 'temporal'])
    assert.equal(compose.services[name].profiles, undefined, `${name} runs by default`);
});
