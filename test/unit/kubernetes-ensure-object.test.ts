/**
 * The decision every object this product writes to a cluster goes through (activities/kubernetes/ensure-object.ts):
 * create marked as this binding's, keep, replace keeping others' labels and annotations, recreate, refuse an
 * unmarked object unless its kind is adopted, refuse another tool's or another binding's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import {
  decide,
  type EnsureRule,
  type StoredObject,
  type WantedObject,
} from '../../activities/kubernetes/ensure-object.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../domain/credential-spec.js';
import {
  bindingMeta,
  K8S_ADOPTED_ANNOTATION,
  K8S_BINDING_ANNOTATION,
  K8S_BINDING_LABEL,
  ownershipFromMeta,
  type Owner,
} from '../../domain/ownership.js';

interface Thing extends StoredObject {
  value?: string;
  ref?: string;
}

const A = 'gmsa-aks-lab-web-0123456789ab';
const B = 'gmsa-aks-lab-web-ba9876543210';
const owner: Owner = { binding: A, adopt: [] };
const adopting: Owner = { binding: A, adopt: ['rbac'] };

const wanted: WantedObject & { value: string; ref: string } = {
  metadata: { name: 'spec-a', labels: { [MANAGED_BY_LABEL]: MANAGED_BY, 'gmsa.example/spec': 'spec-a' } },
  value: 'wanted',
  ref: 'role-a',
};
const rule: EnsureRule<Thing> = {
  kind: 'Thing',
  name: 'default/spec-a',
  adopt: 'rbac',
  same: (t) => t.value === wanted.value && t.ref === wanted.ref,
  immutableDiffers: (t) => t.ref !== wanted.ref,
};
const stored = (meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}, over = {}) =>
  ({ metadata: { resourceVersion: '4711', ...meta }, value: 'wanted', ref: 'role-a', ...over }) as Thing;
const ofBinding = (binding: string, adopted = false) => stored(bindingMeta(binding, adopted));

/** The failure decide throws, for assertions on it. */
function refusal(run: () => unknown): ApplicationFailure {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof ApplicationFailure, String(e));
    return e;
  }
  assert.fail('expected a refusal');
}

test('an absent object is created with the binding marks in the create itself', () => {
  const decision = decide(rule, wanted, undefined, owner);
  assert.equal(decision.action, 'create');
  assert.ok(decision.action === 'create');
  assert.equal(decision.adopted, false);
  assert.deepEqual(decision.body.metadata.labels, { ...wanted.metadata.labels, ...bindingMeta(A).labels });
  assert.deepEqual(decision.body.metadata.annotations, bindingMeta(A).annotations);
  assert.deepEqual(ownershipFromMeta(decision.body.metadata), {
    createdBy: A,
    uses: [bindingMeta(A).labels[K8S_BINDING_LABEL]],
  });
});

test("this binding's object as wanted is kept: a rerun (after a lost reply too) writes nothing", () => {
  assert.deepEqual(decide(rule, wanted, ofBinding(A), owner), { action: 'keep', adopted: false });
  assert.deepEqual(decide(rule, wanted, ofBinding(A, true), owner), { action: 'keep', adopted: true });
});

test("this binding's object that differs is replaced with the resourceVersion read, others' marks kept", () => {
  const current = stored(
    {
      labels: { ...bindingMeta(A).labels, team: 'web', 'gmsa.example/spec': 'old' },
      annotations: { ...bindingMeta(A).annotations, 'team.example/note': 'keep me' },
    },
    { value: 'x' },
  );
  const decision = decide(rule, wanted, current, owner);
  assert.equal(decision.action, 'replace');
  assert.ok(decision.action === 'replace');
  assert.equal(decision.body.value, 'wanted');
  assert.deepEqual(decision.body.metadata, {
    name: 'spec-a',
    // Ours win where both set one; a label or annotation only the cluster's copy has stays.
    labels: { ...bindingMeta(A).labels, team: 'web', 'gmsa.example/spec': 'spec-a' },
    annotations: { ...bindingMeta(A).annotations, 'team.example/note': 'keep me' },
    resourceVersion: '4711',
  });
});

test('our object that lost a mark gets it back, even when its content is as wanted', () => {
  const current = stored({ labels: bindingMeta(A).labels }); // the binding-id annotation was removed
  const decision = decide(rule, wanted, current, owner);
  assert.equal(decision.action, 'replace');
  assert.ok(decision.action === 'replace');
  assert.equal(decision.body.metadata.annotations?.[K8S_BINDING_ANNOTATION], A);
});

test('an unmarked object (by hand, by the PowerShell module) is refused before any write, naming how to adopt it', () => {
  for (const meta of [{}, { labels: { team: 'web' } }]) {
    const e = refusal(() => decide(rule, wanted, stored(meta), owner));
    assert.equal(e.type, 'Conflict');
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, /^Thing "default\/spec-a" exists and is not marked as aks-gmsa's \(no owner marker\)/);
    assert.match(e.message, /Add "rbac" to options\.adopt/);
  }
  // adopting another kind does not adopt this one
  assert.throws(() => decide(rule, wanted, stored(), { binding: A, adopt: ['credentialSpec'] }), /Add "rbac"/);
});

test('with its kind adopted, an unmarked object is replaced with our content and the adopted marks', () => {
  const decision = decide(rule, wanted, stored({ labels: { team: 'web' } }, { value: 'theirs' }), adopting);
  assert.equal(decision.action, 'replace');
  assert.ok(decision.action === 'replace');
  assert.equal(decision.adopted, true);
  assert.equal(decision.body.value, 'wanted');
  assert.equal(decision.body.metadata.labels.team, 'web');
  assert.equal(decision.body.metadata.annotations?.[K8S_ADOPTED_ANNOTATION], 'true');
  assert.deepEqual(ownershipFromMeta(decision.body.metadata), {
    createdBy: undefined,
    uses: [bindingMeta(A).labels[K8S_BINDING_LABEL]],
  });
  // even when its content is already ours: the marks must be written
  assert.equal(decide(rule, wanted, stored(), adopting).action, 'replace');
});

test("another binding's object is refused, adopt or not: two bindings cannot share a spec name", () => {
  for (const who of [owner, adopting]) {
    const e = refusal(() => decide(rule, wanted, ofBinding(B), who));
    assert.equal(e.type, 'Conflict');
    assert.equal(e.nonRetryable, true);
    assert.match(
      e.message,
      new RegExp(`Thing "default/spec-a" exists and belongs to another aks-gmsa binding \\(${B}\\)`),
    );
  }
});

test('an object marked by this product before bindings were is completed with the marks, as created', () => {
  const decision = decide(rule, wanted, stored({ labels: { [MANAGED_BY_LABEL]: MANAGED_BY } }), owner);
  assert.equal(decision.action, 'replace');
  assert.ok(decision.action === 'replace');
  assert.equal(decision.adopted, false);
  assert.equal(ownershipFromMeta(decision.body.metadata)?.createdBy, A);
});

test('a difference in a field that cannot change in place recreates the object, marks and others’ labels kept', () => {
  const decision = decide(
    rule,
    wanted,
    stored({ labels: { ...bindingMeta(A).labels, team: 'web' } }, { ref: 'role-b' }),
    owner,
  );
  assert.equal(decision.action, 'recreate');
  assert.ok(decision.action === 'recreate');
  assert.equal(decision.body.metadata.labels.team, 'web');
  assert.equal('resourceVersion' in decision.body.metadata, false);
  assert.equal(decide(rule, wanted, stored({}, { ref: 'role-b' }), adopting).action, 'recreate');
  assert.throws(() => decide(rule, wanted, stored({}, { ref: 'role-b' }), owner), /not marked/);
});

test("another tool's object is refused, non-retryably, naming the kind, the name and the owner", () => {
  for (const who of [owner, adopting]) {
    const e = refusal(() => decide(rule, wanted, stored({ labels: { [MANAGED_BY_LABEL]: 'Helm' } }), who));
    assert.equal(e.type, 'Conflict');
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, /Thing "default\/spec-a" exists and is managed by "Helm"/);
  }
});
