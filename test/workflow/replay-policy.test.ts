/**
 * Editing the policy table cannot break a run in flight: a history recorded mid-retry (still running, a step on its
 * 2nd attempt) replays through workflows bundled with an altered table (other maxAttempts, backoffs, intervals),
 * because the retries are the server's and not the workflow's commands. The controls show the replay can fail:
 * the same kind of edit breaks the old retry loop's history, and so does the step graph without its patch check,
 * and today's ownership graph without its own.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../worker/create-worker.js';
import { MID_RETRY_PENDING, RECORDED } from '../support/record-history.js';

const fixture = (file: string) => fileURLToPath(new URL(`../fixtures/histories/${file}`, import.meta.url));
const history = (file: string) => JSON.parse(readFileSync(fixture(file), 'utf8')) as { events: unknown[] };
const workflowsDir = fileURLToPath(new URL('../../workflows/', import.meta.url));

/** The workflows bundled with each source file under workflows/ (e.g. `step-policies.ts`) replaced by a fixture. */
function bundleWith(replacements: Record<string, string>, workflowsPath = WORKFLOWS_PATH) {
  const noop = () => {};
  return bundleWorkflowCode({
    workflowsPath,
    logger: { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop },
    webpackConfigHook: (config) => {
      // An alias keyed by the absolute source path matches the relative import once webpack has joined it and
      // mapped `.js` to `.ts` (the SDK's extensionAlias).
      const alias = Object.fromEntries(
        Object.entries(replacements).map(([module, file]) => [`${workflowsDir}${module}$`, fixture(file)]),
      );
      config.resolve = { ...config.resolve, alias: { ...(config.resolve?.alias as object), ...alias } };
      return config;
    },
  });
}

describe('replay after a policy change', () => {
  test('a history recorded mid-retry replays with an altered policy table', async () => {
    // What the server said when the history was taken: getDomainFacts running its 2nd attempt under 8 allowed.
    const pending = JSON.parse(readFileSync(fixture(MID_RETRY_PENDING), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      { activityId: pending.activityId, attempt: pending.attempt, maximumAttempts: pending.maximumAttempts },
      { activityId: 'getDomainFacts', attempt: 2, maximumAttempts: 8 },
    );
    const h = history(RECORDED.midRetry);
    const bundle = await bundleWith({ 'step-policies.ts': 'altered/step-policies.ts' });
    assert.ok(bundle.code.includes('altered-policy-table-for-replay'), 'the bundle holds the altered table');
    await Worker.runReplayHistory({ workflowBundle: bundle }, h);
  });

  test("control: the same kind of edit to the retry loop's table breaks replay of its history", async () => {
    // The loop's history retried getDomainFacts with a timer; allowed one attempt, the loop fails the step instead.
    const bundle = await bundleWith({ 'legacy/step-policies-v1.ts': 'altered/step-policies-v1.ts' });
    assert.ok(bundle.code.includes('altered-v1-policy-table-for-replay'), 'the bundle holds the altered table');
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundle }, history('provision-retry-approval.json')),
      DeterminismViolationError,
    );
  });

  test("control: the step graph without its patch check fails to replay the retry loop's history", async () => {
    const bundle = await bundleWith({}, fixture('altered/no-patch-workflows.ts'));
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundle }, history('provision-retry-approval.json')),
      DeterminismViolationError,
    );
  });

  test('control: the ownership graph without its patch check fails to replay a history of the graph before it', async () => {
    const bundle = await bundleWith({}, fixture('altered/no-ownership-patch-workflows.ts'));
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundle }, history('provision-v2-happy.json')),
      DeterminismViolationError,
    );
  });

  test('control: coordination without its patch check fails to replay a history of the graph before it', async () => {
    const bundle = await bundleWith({}, fixture('altered/no-fleet-patch-workflows.ts'));
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundle }, history('provision-v3-happy.json')),
      DeterminismViolationError,
    );
  });
});
