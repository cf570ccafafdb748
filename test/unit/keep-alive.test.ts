/**
 * The keep-alive heartbeats half the heartbeat timeout apart, so a live step never misses its timeout while a dead
 * worker's step is noticed within it; it repeats the latest details rather than erasing them.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beat, keepAlive } from '../../activities/keep-alive.js';

test('the keep-alive beats every half of the heartbeat timeout with the latest details, and stops with the step', async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 3_000 });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    let finish!: () => void;
    const step = keepAlive(async () => {
      beat({ polls: 1 });
      await new Promise<void>((resolve) => (finish = resolve));
      return 'done';
    });
    const running = env.run(step, undefined);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(beats, [{ polls: 1 }]);
    mock.timers.tick(1_499);
    assert.equal(beats.length, 1, 'no beat before half the timeout');
    mock.timers.tick(1);
    mock.timers.tick(1_500);
    assert.deepEqual(beats, [{ polls: 1 }, { polls: 1 }, { polls: 1 }], 'a beat each 1.5 s, repeating the details');
    finish();
    assert.equal(await running, 'done');
    mock.timers.tick(3_000);
    assert.equal(beats.length, 3, 'no beat after the step ended');
  } finally {
    mock.timers.reset();
  }
});
