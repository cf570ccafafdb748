/** The request files in examples/ are what the README tells people to send: each must pass validation as it is. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseProvisionRequest } from '../../domain/parse-request.js';
import { PROJECT_ROOT } from '../../lab/paths.js';

const LAB_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

for (const file of readdirSync(`${PROJECT_ROOT}/examples`).filter((f) => f.endsWith('.json'))) {
  test(`examples/${file} is a valid request`, () => {
    const body = JSON.parse(readFileSync(`${PROJECT_ROOT}/examples/${file}`, 'utf8'));
    const parsed = parseProvisionRequest(body, { subscriptionId: LAB_SUBSCRIPTION });
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
  });
}
