/**
 * The house's import direction is enforced by lint (eslint.config.js, DESIGN "Layout"): each case lints a one-line
 * file at a path in the tree with the project's own configuration, and checks that an upward import is an error
 * and an allowed one is not. The type-aware rules are checked the same way.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ESLint } from 'eslint';
import { PROJECT_ROOT } from '../../lab/paths.js';

// The project's configuration as it is. Import rules need no type information, so that linter skips building the
// program; the type-aware one lets the project service take the probe files, which exist only in memory.
const PROBES = ['activities/probe.ts', 'test/unit/probe.test.ts'];
const imports = new ESLint({
  cwd: PROJECT_ROOT,
  overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});
const typed = new ESLint({
  cwd: PROJECT_ROOT,
  overrideConfig: {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: PROBES, defaultProject: 'tsconfig.json' } },
    },
  },
});

async function problems(filePath: string, code: string, rule: string): Promise<string[]> {
  const eslint = rule === 'no-restricted-imports' ? imports : typed;
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result, `no lint result for ${filePath}`);
  const fatal = result.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], `${filePath} did not parse`);
  return result.messages.filter((m) => m.ruleId === rule).map((m) => m.message);
}

/** [file, imported path, allowed?] */
type Case = [string, string, boolean];

const CASES: Record<string, Case[]> = {
  'domain imports nothing of ours': [
    ['domain/x.ts', './sid.js', true],
    ['domain/x.ts', '../contract/activities.js', false],
    ['domain/x.ts', '../activities/kubernetes.js', false],
    ['domain/x.ts', '../config/env.js', false],
  ],
  'config imports nothing of ours': [
    ['config/x.ts', 'pino', true],
    ['config/x.ts', '../domain/scrub.js', false],
    ['config/x.ts', '../worker/main.js', false],
  ],
  'contract imports only domain': [
    ['contract/x.ts', '../domain/request.js', true],
    ['contract/x.ts', '../activities/index.js', false],
    ['contract/x.ts', '../config/env.js', false],
  ],
  'temporal imports contract, domain and config': [
    ['temporal/x.ts', '../config/env.js', true],
    ['temporal/x.ts', '../worker/main.js', false],
    ['temporal/x.ts', '../api/app.js', false],
  ],
  'workflows import only contract, domain and their own files, nothing with I/O': [
    ['workflows/x.ts', '../contract/activities.js', true],
    ['workflows/x.ts', '../domain/scrub.js', true],
    ['workflows/x.ts', './definitions.js', true],
    ['workflows/x.ts', '@temporalio/workflow', true],
    ['workflows/x.ts', '../activities/kubernetes.js', false],
    ['workflows/x.ts', '../config/env.js', false],
    ['workflows/x.ts', '../temporal/codec.js', false],
    ['workflows/x.ts', '../worker/main.js', false],
    ['workflows/x.ts', 'node:fs', false],
    ['workflows/x.ts', 'crypto', false],
    ['workflows/x.ts', '@temporalio/activity', false],
    ['workflows/x.ts', '@temporalio/client', false],
    ['workflows/x.ts', '@temporalio/worker', false],
    ['workflows/x.ts', 'ldapts', false],
  ],
  'activities never import workflows': [
    ['activities/azure/x.ts', '../../contract/errors.js', true],
    ['activities/azure/x.ts', '../../config/logger.js', true],
    ['activities/azure/x.ts', '../kubernetes.js', true],
    ['activities/azure/x.ts', '../../workflows/definitions.js', false],
    ['activities/x.ts', '../workflows/provision.js', false],
    ['activities/x.ts', '../worker/config/azure.js', false],
  ],
  'worker imports workflows, activities and the shared folders': [
    ['worker/config/x.ts', '../../activities/index.js', true],
    ['worker/x.ts', '../workflows/definitions.js', true],
    ['worker/x.ts', '../temporal/codec.js', true],
    ['worker/x.ts', '../api/app.js', false],
    ['worker/config/x.ts', '../../cli/main.js', false],
  ],
  "api imports workflows' definitions, never activities": [
    ['api/routes/x.ts', '../../workflows/definitions.js', true],
    ['api/x.ts', '../config/env.js', true],
    ['api/routes/x.ts', '../../workflows/provision.js', false],
    ['api/x.ts', '../activities/index.js', false],
    ['api/x.ts', '../worker/create-worker.js', false],
  ],
  "cli imports api's wire schemas only": [
    ['cli/x.ts', '../api/schemas.js', true],
    ['cli/x.ts', '../domain/request.js', true],
    ['cli/x.ts', '../api/provisioning-service.js', false],
    ['cli/x.ts', '../workflows/definitions.js', false],
  ],
  'product code never imports lab, test or bench': [
    ['activities/x.ts', '../lab/process.js', false],
    ['worker/x.ts', '../test/support/poll.js', false],
    ['api/x.ts', '../bench/kubernetes.js', false],
    ['domain/x.ts', '../lab/paths.js', false],
  ],
  'lab and bench never import the tests': [
    ['lab/kubernetes/x.ts', '../../activities/kubernetes.js', true],
    ['lab/kubernetes/x.ts', '../../test/support/poll.js', false],
    ['bench/x.ts', '../lab/process.js', true],
    ['bench/x.ts', '../activities/kubernetes.js', true],
    ['bench/x.ts', '../test/support/requests.js', false],
  ],
};

describe('no-restricted-imports enforces the layers', () => {
  for (const [rule, cases] of Object.entries(CASES)) {
    test(rule, async () => {
      for (const [file, from, allowed] of cases) {
        for (const code of [
          `import { x } from '${from}';\nexport const y = x;\n`,
          `import type { X } from '${from}';\nexport type Y = X;\n`,
          `export { x } from '${from}';\n`,
        ]) {
          const found = await problems(file, code, 'no-restricted-imports');
          if (allowed) assert.deepEqual(found, [], `${file} may import ${from}`);
          else assert.equal(found.length, 1, `${file} importing ${from} must be an error (${code.split('\n')[0]})`);
        }
      }
    });
  }

  test('the message says which folders the importing folder may use', async () => {
    const [message] = await problems(
      'domain/x.ts',
      `export { x } from '../activities/index.js';\n`,
      'no-restricted-imports',
    );
    assert.match(message ?? '', /domain\/ imports nothing of ours \(DESIGN "Layout"/);
  });
});

describe('type-aware rules', () => {
  test('a promise nobody awaits is an error; node:test calls the runner awaits are not', async () => {
    const floating = await problems(
      'activities/probe.ts',
      'async function write(): Promise<void> {}\nexport function run(): void {\n  write();\n}\n',
      '@typescript-eslint/no-floating-promises',
    );
    assert.equal(floating.length, 1);
    const awaited = await problems(
      'activities/probe.ts',
      'async function write(): Promise<void> {}\nexport async function run(): Promise<void> {\n  await write();\n}\n',
      '@typescript-eslint/no-floating-promises',
    );
    assert.deepEqual(awaited, []);
    const runnerCall = await problems(
      'test/unit/probe.test.ts',
      "import { test } from 'node:test';\ntest('t', async () => {});\n",
      '@typescript-eslint/no-floating-promises',
    );
    assert.deepEqual(runnerCall, []);
  });

  test('a promise where a void callback or a condition is expected is an error', async () => {
    const misused = await problems(
      'activities/probe.ts',
      'export function run(items: string[], check: () => Promise<boolean>): void {\n' +
        '  items.forEach(async () => {});\n  if (check()) return;\n}\n',
      '@typescript-eslint/no-misused-promises',
    );
    assert.equal(misused.length, 2, misused.join('\n'));
  });
});
