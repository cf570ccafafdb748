/**
 * The last step of `npm run build`: bundles the compiled workflows (dist/workflows) into dist/workflow-bundle.js,
 * which the compiled worker loads instead of running webpack at every start. It first checks that dist/ holds the
 * product folders only (tsconfig.build.json's include), so a build that emits lab, test or bench code fails here.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_FILE } from '../worker/create-worker.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };

const stray = readdirSync(dist).filter((entry) => !build.include.includes(entry));
if (stray.length > 0) {
  console.error(`dist/ holds more than the product (${build.include.join(', ')}): ${stray.join(', ')}`);
  process.exit(1);
}
const workflows = path.join(dist, 'workflows', 'index.js');
if (!existsSync(workflows)) {
  console.error(`${path.relative(root, workflows)} is missing: run tsc -p tsconfig.build.json first`);
  process.exit(1);
}

const t0 = performance.now();
const noop = () => {};
const { code } = await bundleWorkflowCode({
  workflowsPath: workflows,
  // The bundle carries the failure converter the data converter names, so workflow failures are encrypted too.
  failureConverterPath: path.join(dist, 'temporal', 'failure-converter.js'),
  logger: { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop },
});
const out = path.join(dist, WORKFLOW_BUNDLE_FILE);
writeFileSync(out, code);
const kib = Math.round(statSync(out).size / 1024);
console.log(`${path.relative(root, out)}: ${kib} KiB in ${Math.round(performance.now() - t0)} ms`);
