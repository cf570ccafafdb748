/** keepRecent: a map bounded to its most recently used entries, returning what fell out. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepRecent } from '../../domain/recent-map.js';

test('keepRecent keeps the most recently set entries and returns the ones it let go, oldest first', () => {
  const map = new Map<string, number>();
  assert.deepEqual(keepRecent(map, 'a', 1, 2), []);
  assert.deepEqual(keepRecent(map, 'b', 2, 2), []);
  assert.deepEqual(keepRecent(map, 'a', 1, 2), [], 'setting a kept key again lets nothing go');
  assert.deepEqual(keepRecent(map, 'c', 3, 2), [2], 'b was the least recently used');
  assert.deepEqual([...map.keys()], ['a', 'c']);
  assert.deepEqual(keepRecent(map, 'd', 4, 1), [1, 3], 'a smaller capacity lets several go');
  assert.deepEqual([...map.entries()], [['d', 4]]);
});
