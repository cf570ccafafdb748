/** Gate: at most `limit` calls at once, the rest in arrival order, a slot given back however a call ends. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gate } from '../../domain/gate.js';

/** A call that runs until its `finish` is called, recording when it started. */
function held(started: number[], id: number) {
  let finish!: (fail?: boolean) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = (fail) => (fail ? reject(new Error(`call ${id} failed`)) : resolve());
  });
  return { finish, fn: () => (started.push(id), done) };
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('a gate runs at most its limit at once and starts the others in arrival order as slots free', async () => {
  const gate = new Gate(2);
  const started: number[] = [];
  const calls = [0, 1, 2, 3, 4].map((id) => held(started, id));
  const results = calls.map((c) => gate.run(c.fn).catch((err: Error) => err.message));
  await turn();
  assert.deepEqual(started, [0, 1]);
  assert.deepEqual(gate.load, { running: 2, waiting: 3 });
  calls[1]!.finish(true);
  await turn();
  assert.deepEqual(started, [0, 1, 2], 'a failed call gives its slot back');
  calls[0]!.finish();
  calls[2]!.finish();
  await turn();
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  const late = held(started, 5);
  const lateResult = gate.run(late.fn);
  await turn();
  assert.deepEqual(started, [0, 1, 2, 3, 4], 'a newcomer waits behind the two running');
  calls[3]!.finish();
  calls[4]!.finish();
  await turn();
  late.finish();
  assert.deepEqual(await Promise.all(results), [undefined, 'call 1 failed', undefined, undefined, undefined]);
  await lateResult;
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(gate.load, { running: 0, waiting: 0 });
});

test('a gate refuses a limit that is not a whole number of at least 1', () => {
  for (const limit of [0, -1, 1.5, Number.NaN]) assert.throws(() => new Gate(limit), RangeError);
});
