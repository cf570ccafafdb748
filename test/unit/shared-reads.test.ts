/**
 * Shared reads (domain/shared-reads.ts) on a clock of the test's own: when a value is answered as it is, when it is
 * answered while one reload runs behind it, when a read waits, and what is kept after failures and forgets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SharedReads } from '../../domain/shared-reads.js';

/** A load the test settles when it likes, counting how many were started. */
function loads() {
  const pending: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  return {
    pending,
    load: () =>
      new Promise<string>((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('SharedReads', () => {
  test('concurrent reads share one load; a fresh value is answered without one', async () => {
    let now = 0;
    const reads = new SharedReads<string, string>({ freshMs: 100, maxAgeMs: 300 }, () => now);
    const { pending, load } = loads();
    const a = reads.read('k', load);
    const b = reads.read('k', load);
    assert.equal(pending.length, 1);
    pending[0]!.resolve('v1');
    assert.deepEqual(await Promise.all([a, b]), ['v1', 'v1']);
    now = 99;
    assert.equal(await reads.read('k', load), 'v1');
    assert.equal(pending.length, 1, 'no load while the value is fresh');
  });

  test('past freshMs the kept value is answered at once and one reload runs; past maxAgeMs reads wait', async () => {
    let now = 0;
    const reads = new SharedReads<string, string>({ freshMs: 100, maxAgeMs: 300 }, () => now);
    const { pending, load } = loads();
    const first = reads.read('k', load);
    pending[0]!.resolve('v1');
    await first;
    now = 150;
    assert.equal(await reads.read('k', load), 'v1', 'stale but answerable: answered at once');
    assert.equal(await reads.read('k', load), 'v1');
    assert.equal(pending.length, 2, 'one reload behind both reads');
    pending[1]!.resolve('v2');
    await settle();
    assert.equal(await reads.read('k', load), 'v2');
    now = 150 + 300;
    let answered: string | undefined;
    const late = reads.read('k', load).then((v) => (answered = v));
    await settle();
    assert.equal(answered, undefined, 'too old to answer: the read waits for the load');
    pending[2]!.resolve('v3');
    await late;
    assert.equal(answered, 'v3');
  });

  test("a value's age counts from the start of its load", async () => {
    let now = 0;
    const reads = new SharedReads<string, string>({ freshMs: 100, maxAgeMs: 100 }, () => now);
    const { pending, load } = loads();
    const first = reads.read('k', load);
    now = 80;
    pending[0]!.resolve('v1');
    await first;
    now = 100;
    void reads.read('k', load);
    assert.equal(pending.length, 2, 'loaded at 0, so no longer fresh at 100');
  });

  test('a failed load is not kept: its readers get the error, the next read loads again', async () => {
    const reads = new SharedReads<string, string>({ freshMs: 100, maxAgeMs: 300 }, () => 0);
    const { pending, load } = loads();
    const a = reads.read('k', load);
    pending[0]!.reject(new Error('Temporal is away'));
    await assert.rejects(a, /Temporal is away/);
    assert.equal(reads.size, 0);
    const b = reads.read('k', load);
    assert.equal(pending.length, 2);
    pending[1]!.resolve('v');
    assert.equal(await b, 'v');
  });

  test('a failed reload keeps the older value while it may be answered', async () => {
    let now = 0;
    const reads = new SharedReads<string, string>({ freshMs: 100, maxAgeMs: 300 }, () => now);
    const { pending, load } = loads();
    const first = reads.read('k', load);
    pending[0]!.resolve('v1');
    await first;
    now = 200;
    assert.equal(await reads.read('k', load), 'v1');
    pending[1]!.reject(new Error('Temporal is away'));
    await settle();
    assert.equal(await reads.read('k', load), 'v1', 'still within maxAgeMs');
    assert.equal(pending.length, 3, 'and another reload is tried');
  });

  test('forget: the next read loads anew, and a load begun before is not kept', async () => {
    const reads = new SharedReads<string, string>({ freshMs: 1000, maxAgeMs: 1000 }, () => 0);
    const { pending, load } = loads();
    const before = reads.read('k', load);
    reads.forget('k');
    const after = reads.read('k', load);
    assert.equal(pending.length, 2, 'the read after the change does not join the one before it');
    pending[0]!.resolve('before');
    pending[1]!.resolve('after');
    assert.equal(await before, 'before');
    assert.equal(await after, 'after');
    assert.equal(await reads.read('k', load), 'after');
    reads.forget();
    assert.equal(reads.size, 0);
  });

  test('ages may depend on the value', async () => {
    let now = 0;
    const reads = new SharedReads<string, string>(
      (v) => (v === 'closed' ? { freshMs: 1000, maxAgeMs: 1000 } : { freshMs: 10, maxAgeMs: 10 }),
      () => now,
    );
    const { pending, load } = loads();
    const r = reads.read('running', load);
    const c = reads.read('closed', load);
    pending[0]!.resolve('running');
    pending[1]!.resolve('closed');
    await Promise.all([r, c]);
    now = 500;
    void reads.read('running', load);
    assert.equal(await reads.read('closed', load), 'closed');
    assert.equal(pending.length, 3, 'only the short-lived value was loaded again');
  });

  test('keys no longer read are dropped once too old to answer', async () => {
    let now = 0;
    const reads = new SharedReads<string, string>({ freshMs: 100, maxAgeMs: 300 }, () => now);
    const { pending, load } = loads();
    for (const k of ['a', 'b', 'c']) void reads.read(k, load);
    for (const p of pending) p.resolve('v');
    await settle();
    assert.equal(reads.size, 3);
    now = 2000;
    void reads.read('d', load);
    assert.equal(reads.size, 1, 'only the key being loaded is left');
  });
});
