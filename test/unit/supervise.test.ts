/** The lab's supervisor: a process that dies is started again and says so; one that keeps dying gives up. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { supervise } from '../../lab/supervise.js';
import { pollUntil } from '../support/poll.js';

const node = (code: string) => () => spawn(process.execPath, ['-e', code], { stdio: 'ignore' });

test('a killed process is started again, with a line saying so', async () => {
  const lines: string[] = [];
  const s = supervise('sleeper', node('setInterval(() => {}, 1000)'), {
    initialMs: 10,
    log: (l) => lines.push(l),
    onGiveUp: (why) => assert.fail(`gave up: ${why}`),
  });
  try {
    const first = await pollUntil('the first process', () => s.current()?.pid);
    process.kill(first, 'SIGKILL');
    const second = await pollUntil('a new process', () => (s.restarts() === 1 ? s.current()?.pid : undefined));
    assert.notEqual(second, first);
    assert.ok(
      lines.some((l) => /^sleeper exited \(SIGKILL\); restarting in/.test(l)),
      lines.join('\n'),
    );
    assert.ok(lines.includes('sleeper restarted (restart 1)'), lines.join('\n'));
  } finally {
    await s.stop(1000);
  }
  assert.equal(s.current(), undefined, 'stopped, and not started again');
});

test('one that keeps dying gives up once, naming how often', async () => {
  const why: string[] = [];
  const s = supervise('crasher', node('process.exit(3)'), {
    initialMs: 5,
    maxMs: 20,
    maxRestarts: 3,
    log: () => undefined,
    onGiveUp: (w) => why.push(w),
  });
  await pollUntil('giving up', () => why.length > 0);
  assert.equal(s.restarts(), 3);
  assert.match(why[0]!, /^crasher exited \(code 3\) 4 times within 300 s$/);
  await s.stop(1000);
  assert.equal(why.length, 1);
});

test('stop() ends the process and no restart follows', async () => {
  const lines: string[] = [];
  const s = supervise('server', node('setInterval(() => {}, 1000)'), {
    initialMs: 5,
    log: (l) => lines.push(l),
    onGiveUp: () => assert.fail('gave up'),
  });
  const pid = await pollUntil('the process', () => s.current()?.pid);
  await s.stop(1000);
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
  assert.deepEqual(lines, []);
  assert.equal(s.restarts(), 0);
});
