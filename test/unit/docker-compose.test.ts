/** docker-compose.yml cannot run here (no Docker engine); its structure is checked instead. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
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

test('the Dockerfile uses a glibc Node 22 image and runs as a non-root user', () => {
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  assert.ok(
    froms.length >= 1 && froms.every((f) => /^node:22-bookworm(-slim)?$/.test(f)),
    `images: ${froms.join(', ')}`,
  );
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /npm ci/);
});

test('the commands the image and the compose file run are files the build writes', () => {
  // `npm run build` is tsc with this tsconfig: each dist/<x>.js comes from <x>.ts under an included folder.
  const tsconfig = JSON.parse(readFileSync(`${PROJECT_ROOT}/tsconfig.json`, 'utf8'));
  const pkg = JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8'));
  assert.equal(pkg.scripts.build, 'tsc -p tsconfig.json');
  assert.equal(tsconfig.compilerOptions.outDir, 'dist');
  assert.equal(tsconfig.compilerOptions.rootDir, '.');
  assert.match(dockerfile, /^RUN npm run build/m, 'the image builds dist');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  assert.ok(cmd, 'the Dockerfile has an exec-form CMD');
  const commands: string[][] = [JSON.parse(cmd), compose.services.worker.command, compose.services.api.command];
  for (const command of commands) {
    assert.equal(command[0], 'node', JSON.stringify(command));
    const out = /^dist\/(.+)\.js$/.exec(command[1] ?? '');
    assert.ok(out, `${command.join(' ')} runs a file under dist/`);
    const source = `${out[1]}.ts`;
    assert.ok(existsSync(`${PROJECT_ROOT}/${source}`), `${source} exists`);
    assert.ok(tsconfig.include.includes(source.split('/')[0]), `${source} is in a folder tsconfig compiles`);
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
