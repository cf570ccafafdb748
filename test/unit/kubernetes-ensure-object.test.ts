/**
 * The decision every object this product writes to a cluster goes through (activities/kubernetes/ensure-object.ts):
 * create, keep, replace keeping others' labels, recreate, or refuse another owner's object.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { decide, type EnsureRule, type StoredObject } from '../../activities/kubernetes/ensure-object.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../domain/credential-spec.js';

interface Thing extends StoredObject {
  value?: string;
  ref?: string;
}

const wanted = {
  metadata: { name: 'spec-a', labels: { [MANAGED_BY_LABEL]: MANAGED_BY, 'gmsa.example/spec': 'spec-a' } },
  value: 'wanted',
  ref: 'role-a',
};
const rule: EnsureRule<Thing> = {
  kind: 'Thing',
  name: 'default/spec-a',
  same: (t) => t.value === wanted.value && t.ref === wanted.ref,
  immutableDiffers: (t) => t.ref !== wanted.ref,
};
const stored = (labels: Record<string, string> | undefined, over: Partial<Thing> = {}): Thing => ({
  metadata: { resourceVersion: '4711', labels },
  value: 'wanted',
  ref: 'role-a',
  ...over,
});
const ours = { [MANAGED_BY_LABEL]: MANAGED_BY };

test('an absent object is created', () => {
  assert.deepEqual(decide(rule, wanted, undefined), { action: 'create' });
});

test('our object as wanted is kept: a rerun writes nothing', () => {
  assert.deepEqual(decide(rule, wanted, stored(ours)), { action: 'keep' });
});

test('our object that differs is replaced with the resourceVersion read and the labels others added kept', () => {
  const decision = decide(rule, wanted, stored({ ...ours, team: 'web', 'gmsa.example/spec': 'old' }, { value: 'x' }));
  assert.equal(decision.action, 'replace');
  assert.ok(decision.action === 'replace');
  assert.equal(decision.body.value, 'wanted');
  assert.deepEqual(decision.body.metadata, {
    name: 'spec-a',
    // Ours win where both set one; a label only the cluster's copy has stays.
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, team: 'web', 'gmsa.example/spec': 'spec-a' },
    resourceVersion: '4711',
  });
});

test('an object without our label (made by hand or by the PowerShell module) is adopted even when it matches', () => {
  for (const labels of [undefined, { team: 'web' }]) {
    const decision = decide(rule, wanted, stored(labels));
    assert.equal(decision.action, 'replace', JSON.stringify(labels));
    assert.ok(decision.action === 'replace');
    assert.equal(decision.body.metadata.labels[MANAGED_BY_LABEL], MANAGED_BY);
  }
});

test('a difference in a field that cannot change in place recreates the object', () => {
  assert.deepEqual(decide(rule, wanted, stored(ours, { ref: 'role-b' })), { action: 'recreate' });
  assert.deepEqual(decide(rule, wanted, stored(undefined, { ref: 'role-b' })), { action: 'recreate' });
});

test("another tool's object is refused, non-retryably, naming the kind, the name and the owner", () => {
  assert.throws(
    () => decide(rule, wanted, stored({ [MANAGED_BY_LABEL]: 'Helm' })),
    (e: unknown) =>
      e instanceof ApplicationFailure &&
      e.nonRetryable &&
      e.type === 'Conflict' &&
      e.message.includes('Thing "default/spec-a"') &&
      e.message.includes('"Helm"'),
  );
});
