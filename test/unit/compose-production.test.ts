/**
 * deploy/compose/docker-compose.production.yml cannot run here (no Docker engine); its structure is checked: the
 * official Temporal server on PostgreSQL with the schema set up by Temporal's own tool, its UI on the API's codec,
 * two compiled workers and the API, all under the `production` profile, secrets only from files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../lab/paths.js';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';

const dir = path.join(PROJECT_ROOT, 'deploy', 'compose');
const compose = parse(readFileSync(path.join(dir, 'docker-compose.production.yml'), 'utf8'), { merge: true });
interface Service {
  image: string;
  profiles?: string[];
  environment: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports: string[];
  command: string[];
  deploy: { replicas: number };
  stop_grace_period: string;
  secrets?: string[];
}
const services = compose.services as Record<string, Service>;
const script = (name: string) => readFileSync(path.join(dir, 'scripts', name), 'utf8');
const after = (s: string, dep: string) => services[s]!.depends_on?.[dep]?.condition;

test('every service is in the production profile, so the file starts nothing by accident', () => {
  assert.deepEqual(Object.keys(services).sort(), [
    'api',
    'postgresql',
    'temporal',
    'temporal-namespace',
    'temporal-schema',
    'temporal-ui',
    'worker',
  ]);
  for (const [name, s] of Object.entries(services)) assert.deepEqual(s.profiles, ['production'], name);
});

test('the official server on PostgreSQL, after the schema is set up by temporal-sql-tool', () => {
  assert.match(services.postgresql!.image, /^postgres:\d+\.\d+$/);
  assert.match(services.temporal!.image, /^temporalio\/server:\d+\.\d+\.\d+$/);
  assert.match(services['temporal-schema']!.image, /^temporalio\/admin-tools:\d+\.\d+\.\d+$/);
  assert.equal(services.temporal!.environment.DB, 'postgres12');
  assert.equal(services.temporal!.environment.POSTGRES_SEEDS, 'postgresql');
  assert.equal(after('temporal-schema', 'postgresql'), 'service_healthy');
  assert.equal(after('temporal', 'temporal-schema'), 'service_completed_successfully');
  const setup = script('setup-postgres.sh');
  for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d'])
    assert.ok(setup.includes(step), `temporal-sql-tool ${step}`);
  assert.match(setup, /temporal-sql-tool --plugin postgres12/);
  assert.match(setup, /for db in temporal temporal_visibility/);
});

test('the namespace gets every search attribute the product uses, before a worker or the API starts', () => {
  const setup = script('setup-namespace.sh');
  const listed = /for attribute in ([A-Za-z ]+); do/.exec(setup)?.[1]?.trim().split(/\s+/) ?? [];
  assert.deepEqual(
    listed.sort(),
    Object.values(SEARCH_ATTRIBUTES)
      .map((k) => k.name)
      .sort(),
  );
  assert.match(setup, /--type Keyword/);
  for (const s of ['worker', 'api']) assert.equal(after(s, 'temporal-namespace'), 'service_completed_successfully');
});

test('the UI decodes through the API codec with credentials, and listens on loopback only', () => {
  const ui = services['temporal-ui']!;
  assert.match(ui.image, /^temporalio\/ui:\d+\.\d+\.\d+$/);
  assert.match(ui.environment.TEMPORAL_CODEC_ENDPOINT ?? '', /\/codec$/);
  assert.equal(ui.environment.TEMPORAL_CODEC_INCLUDE_CREDENTIALS, 'true');
  for (const s of ['temporal', 'temporal-ui', 'api'])
    for (const p of services[s]!.ports) assert.match(p, /^127\.0\.0\.1:/, `${s} publishes ${p} on loopback only`);
});

test('two compiled workers and the API, with secrets from files and none in the environment', () => {
  const w = services.worker!;
  const a = services.api!;
  assert.deepEqual(w.command, ['node', 'dist/worker/main.js']);
  assert.deepEqual(a.command, ['node', 'dist/api/main.js']);
  assert.equal(w.deploy.replicas, 2);
  assert.equal(w.environment.GMSA_TASK_QUEUE, a.environment.GMSA_TASK_QUEUE);
  assert.ok(Number(/^(\d+)s$/.exec(w.stop_grace_period)?.[1]) > Number(w.environment.GMSA_SHUTDOWN_GRACE_SECONDS));
  for (const [name, s] of Object.entries(services)) {
    for (const [k, v] of Object.entries(s.environment ?? {})) {
      if (/PASSWORD|PWD|KEYS$|KEY$|SECRET/.test(k) && !k.endsWith('_FILE'))
        assert.fail(`${name} sets ${k}=${v} in its environment: secrets come from files`);
      if (k.endsWith('_FILE')) {
        const secret = path.basename(v);
        assert.ok(s.secrets?.includes(secret), `${name} mounts the secret ${secret} its ${k} names`);
        assert.ok(compose.secrets[secret]?.file, `secret ${secret} comes from a file`);
      }
    }
  }
  assert.match(a.environment.GMSA_API_TOKENS ?? '', /^\$\{GMSA_API_TOKENS:\?/, 'tokens must be given, never defaulted');
});
