import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The house's import direction (DESIGN "Layout"): imports point down, and each top-level folder may import only
 * the folders below it. Every import of ours is relative, so a folder is named by the `../` chain that reaches
 * the repository root followed by the folder's name (`../../activities/x.js` from `worker/config/azure.ts`).
 */
const ROOTS = [
  'contract',
  'config',
  'domain',
  'workflows',
  'activities',
  'temporal',
  'worker',
  'api',
  'cli',
  'lab',
  'test',
  'bench',
  'scripts',
];
const PRODUCT = ['contract', 'config', 'domain', 'workflows', 'activities', 'temporal', 'worker', 'api', 'cli'];
const SHARED = ['contract', 'domain', 'config', 'temporal'];

/** Node's built-ins, with and without the `node:` prefix: workflow code has no I/O. */
const NODE_BUILTINS = [
  'node:*',
  'assert',
  'buffer',
  'child_process',
  'crypto',
  'dns',
  'events',
  'fs',
  'fs/*',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'process',
  'stream',
  'timers',
  'timers/*',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
];

/**
 * `folder` may import `allowed` (and itself); any other folder of ours is an error. `only` opens one part of an
 * otherwise forbidden folder: `{ api: 'schemas' }` allows `api/schemas.js` (or `api/schemas/…`) and nothing else
 * of `api/`.
 */
function layer(folder, allowed, { only = {}, extra = [], why } = {}) {
  const forbidden = ROOTS.filter((r) => r !== folder && !allowed.includes(r) && !(r in only));
  const because = `DESIGN "Layout": imports point down${why ? `; ${why}` : ''}`;
  const list = [...allowed.map((a) => `${a}/`), ...Object.entries(only).map(([root, part]) => `${root}/${part}`)];
  const patterns = [];
  if (forbidden.length > 0) {
    patterns.push({
      regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`,
      message: `${folder}/ imports ${list.length ? `only ${list.join(', ')}` : 'nothing of ours'} (${because})`,
    });
  }
  for (const [root, part] of Object.entries(only)) {
    patterns.push({
      regex: `^(\\.\\./)+${root}(/(?!${part}(\\.js$|/))|$)`,
      message: `${folder}/ imports only ${root}/${part} of ${root}/ (${because})`,
    });
  }
  return {
    files: [`${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [...patterns, ...extra] }] },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.lab/', '.tools/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Type-aware: a promise nobody awaits loses its failure (an activity that reports success, a test that
    // passes before its assertion ran).
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return a promise the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },

  layer('domain', [], { why: 'domain is pure code' }),
  layer('config', [], { why: 'every process reads its environment through config/' }),
  layer('contract', ['domain']),
  layer('temporal', ['contract', 'domain', 'config']),
  layer('workflows', ['contract', 'domain'], {
    why: 'workflow code runs in Temporal’s deterministic sandbox',
    extra: [
      { group: NODE_BUILTINS, message: 'no I/O in workflow code (Temporal’s deterministic sandbox)' },
      {
        group: ['@temporalio/activity', '@temporalio/worker', '@temporalio/client', '@temporalio/testing'],
        message: 'workflow code imports @temporalio/workflow and @temporalio/common only',
      },
      {
        group: ['@azure/*', '@kubernetes/*', 'ldapts', 'fastify', 'fastify-*', '@fastify/*', 'pino'],
        message: 'no I/O in workflow code: outside systems are reached through activities',
      },
    ],
  }),
  layer('activities', SHARED, { why: 'activities never import workflows' }),
  layer('worker', ['workflows', 'activities', ...SHARED]),
  layer('api', SHARED, {
    only: { workflows: 'definitions' },
    why: 'the API talks to workflows through their definitions, never to activities',
  }),
  layer('cli', SHARED, { only: { api: 'schemas' }, why: 'the CLI speaks the wire, not the server' }),
  // Stand-ins, benchmarks and scripts may use product code; none of them leans on the tests.
  layer('lab', [...PRODUCT, 'scripts']),
  layer('bench', [...PRODUCT, 'lab', 'scripts'], { why: 'what bench and tests share lives in lab/' }),
  layer('scripts', [...PRODUCT, 'lab']),
);
