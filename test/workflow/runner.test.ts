/**
 * The step runner's declaration check: a graph whose step needs one declared after it (or not at all), or that
 * declares a name twice, is refused when the workflow module loads, not discovered by a stuck run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graph, type Step } from '../../workflows/runner.js';
import { provisionSteps } from '../../workflows/steps.js';
import { STEP_NAMES } from '../../workflows/definitions.js';

const stub = (name: string, needs: string[] = []): Step<unknown, object> => ({
  name,
  kind: 'workflow',
  needs,
  summary: () => name,
  run: async () => name,
});

test('graph() refuses a step that needs one declared after it, an unknown one, or a name twice', () => {
  assert.throws(() => graph([stub('b', ['a']), stub('a')]), /step b needs a, not declared before it/);
  assert.throws(() => graph([stub('a', ['missing'])]), /step a needs missing/);
  assert.throws(() => graph([stub('a'), stub('a')]), /step a is declared twice/);
  assert.equal(graph([stub('a'), stub('b', ['a'])]).steps.length, 2);
});

test("the provisioning graph declares DESIGN's steps, in its order", () => {
  assert.deepEqual(
    provisionSteps.steps.map((s) => s.name),
    [...STEP_NAMES],
  );
});
