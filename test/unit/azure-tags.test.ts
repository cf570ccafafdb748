/**
 * The ownership and grant records on Azure objects fit Azure's tag limits (50 a resource, values up to 256
 * characters) however many bindings share the object: the uses list and an access-policy vault's records are
 * packed, and the earlier one-tag-per-binding form is read and rewritten packed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accessRecordOf, accessRecords, otherAccessRecords, withAccessRecord } from '../../activities/azure/tags.js';
import {
  AZURE_TAG_LIMITS,
  bindingKey,
  claim,
  ownershipFromTags,
  packedTags,
  tagsWithOwnership,
  tagsWithoutOwnership,
  unpackedTags,
  type Ownership,
} from '../../domain/ownership.js';

const id = (i: number) => `aks-lab-web${i}-${i.toString(16).padStart(12, '0')}`;
const oid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

function withinLimits(tags: Record<string, string>) {
  assert.ok(Object.keys(tags).length <= AZURE_TAG_LIMITS.perResource, `${Object.keys(tags).length} tags`);
  for (const [k, v] of Object.entries(tags)) {
    assert.ok(k.length <= AZURE_TAG_LIMITS.name, k);
    assert.ok(v.length <= AZURE_TAG_LIMITS.value, `${k}: ${v.length} characters`);
  }
}

/** The tags of an object `n` bindings use, as the ensure steps leave them: each claims it in turn. */
function sharedBy(n: number, start: Record<string, string> = { team: 'payments' }) {
  let tags = start;
  let o: Ownership | undefined;
  for (let i = 0; i < n; i++) {
    o = claim(o, id(i), i === 0);
    tags = tagsWithOwnership(tags, o, id(i));
  }
  return tags;
}

describe('Azure tags: packed records', () => {
  it('packs items into values of at most 256 characters and reads them back in order', () => {
    const items = Array.from({ length: 100 }, (_, i) => bindingKey(id(i)));
    const tags = packedTags('p-', items);
    assert.equal(Object.keys(tags).length, 6, '19 keys of 12 characters a tag');
    withinLimits(tags);
    assert.deepEqual(unpackedTags({ ...tags, 'p-x': 'not ours', other: 'kept' }, 'p-'), items);
  });

  it('500 bindings on one identity: one uses list in 27 tags, their tags kept, the creator named', () => {
    const tags = sharedBy(500);
    withinLimits(tags);
    assert.equal(Object.keys(tags).filter((k) => k.startsWith('gmsa-uses-')).length, 27);
    assert.equal(tags.team, 'payments');
    const o = ownershipFromTags(tags);
    assert.equal(o?.createdBy, id(0));
    assert.equal(o?.uses.length, 500);
    assert.deepEqual(
      o?.uses,
      Array.from({ length: 500 }, (_, i) => bindingKey(id(i))),
    );
  });

  it('the earlier one-tag-per-binding form is read, and written back packed', () => {
    const legacy = {
      'managed-by': 'aks-gmsa',
      'gmsa-binding': id(0),
      [`gmsa-binding-${bindingKey(id(0))}`]: id(0),
      [`gmsa-binding-${bindingKey(id(1))}`]: id(1),
      team: 'payments',
    };
    const o = ownershipFromTags(legacy);
    assert.deepEqual(o?.uses.sort(), [bindingKey(id(0)), bindingKey(id(1))].sort());
    const next = tagsWithOwnership(legacy, claim(o, id(2), false), id(2));
    assert.ok(!Object.keys(next).some((k) => /^gmsa-binding-[0-9a-f]{12}$/.test(k)), 'no per-binding tag left');
    assert.equal(ownershipFromTags(next)?.uses.length, 3);
    assert.deepEqual(tagsWithoutOwnership(next), { team: 'payments' }, 'and every mark comes off');
    assert.deepEqual(tagsWithoutOwnership(legacy), { team: 'payments' });
  });

  it('a removal shrinks the list: the tags it no longer needs are gone', () => {
    const tags = sharedBy(40);
    assert.equal(Object.keys(tags).filter((k) => k.startsWith('gmsa-uses-')).length, 3);
    const o = ownershipFromTags(tags)!;
    const one = tagsWithOwnership(tags, { ...o, uses: o.uses.slice(0, 1) }, id(0));
    assert.deepEqual(
      Object.keys(one).filter((k) => k.startsWith('gmsa-uses-')),
      ['gmsa-uses-1'],
    );
  });

  it('an access-policy vault holds 180 bindings with their own identities, 400 sharing one, within 50 tags', () => {
    for (const [n, principal] of [
      [180, oid],
      [400, () => oid(7)],
    ] as const) {
      let tags = sharedBy(n, {});
      for (let i = 0; i < n; i++) tags = withAccessRecord(tags, id(i), principal(i));
      withinLimits(tags);
      assert.equal(accessRecords(tags).size, n);
      assert.equal(accessRecordOf(tags, id(n - 1)), principal(n - 1));
    }
  });

  it('access records: set, others found by principal, removed; the earlier form read and rewritten', () => {
    const legacy = { [`gmsa-access-${bindingKey(id(1))}`]: oid(1).toUpperCase(), 'gmsa-access-worker': 'w:get,set' };
    let tags = withAccessRecord(legacy, id(2), oid(1));
    assert.deepEqual(Object.keys(tags).sort(), ['gmsa-access-worker', 'gmsa-grants-1'], "the worker's own tag kept");
    assert.equal(tags['gmsa-grants-1'], `${oid(1)}=${bindingKey(id(1))}+${bindingKey(id(2))}`);
    assert.deepEqual(otherAccessRecords(tags, oid(1), id(2)), [bindingKey(id(1))]);
    tags = withAccessRecord(tags, id(1), undefined);
    assert.deepEqual(otherAccessRecords(tags, oid(1), id(2)), []);
    tags = withAccessRecord(tags, id(2), undefined);
    assert.deepEqual(tags, { 'gmsa-access-worker': 'w:get,set' });
  });
});
