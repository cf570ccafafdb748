/**
 * Temporal for tests: the real dev server the test runner started (TEMPORAL_ADDRESS), or the time-skipping test
 * server (TEMPORAL_TEST_SERVER_PATH). Missing means failing, with the reason: these tests never skip.
 */
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WORKFLOWS_PATH } from '../../worker/create-worker.js';

// Workers log state changes at INFO; tests only want to hear about problems.
Runtime.install({ logger: new DefaultLogger('WARN') });

export function requireEnv(name: string, why: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: ${why}. Run the tests with \`npm test\`, which starts the peers.`);
  return v;
}

export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  const address = requireEnv('TEMPORAL_ADDRESS', 'no Temporal dev server');
  return TestWorkflowEnvironment.createFromExistingServer({ address });
}

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = requireEnv('TEMPORAL_TEST_SERVER_PATH', 'no time-skipping test server');
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const noop = () => {};
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };

let n = 0;
/** A task queue of its own per test, so workers of different tests never steal each other's tasks. */
export const uniqueQueue = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}-${n++}`;
