/** The Schedules' intervals (domain/every.ts): what the request's patterns accept, and what each text means. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EVERY_OR_OFF_PATTERN, EVERY_PATTERN, everyMs, everyText } from '../../domain/every.js';

describe('every', () => {
  test('minutes, hours and days in milliseconds; off is no Schedule', () => {
    assert.equal(everyMs('30m'), 30 * 60_000);
    assert.equal(everyMs('6h'), 6 * 3_600_000);
    assert.equal(everyMs('30d'), 30 * 86_400_000);
    assert.equal(everyMs('9999d'), 9999 * 86_400_000);
    assert.equal(everyMs('off'), undefined);
  });

  test('anything else is refused with the value and the rule', () => {
    for (const bad of ['', '0h', '06h', '6', 'h', '6H', '1.5h', '6 h', '10000d', '-1d', '6w', '30s', 'never']) {
      assert.throws(
        () => everyMs(bad),
        (e: Error) => e instanceof RangeError && e.message.includes(`"${bad}"`),
        bad,
      );
      assert.ok(!new RegExp(EVERY_OR_OFF_PATTERN).test(bad), `the schema refuses ${bad} too`);
    }
  });

  test('the patterns accept exactly what everyMs reads; only the repair one takes off', () => {
    for (const good of ['1m', '45m', '6h', '24h', '30d', '9999d']) {
      assert.ok(new RegExp(EVERY_PATTERN).test(good), good);
      assert.ok(new RegExp(EVERY_OR_OFF_PATTERN).test(good), good);
      assert.ok(everyMs(good)! > 0);
    }
    assert.ok(new RegExp(EVERY_OR_OFF_PATTERN).test('off'));
    assert.ok(!new RegExp(EVERY_PATTERN).test('off'));
  });

  test('an interval reads back in its largest whole unit', () => {
    assert.equal(everyText(everyMs('360m')!), '6h');
    assert.equal(everyText(everyMs('48h')!), '2d');
    assert.equal(everyText(everyMs('90m')!), '90m');
    assert.equal(everyText(1500), '1500ms');
  });
});
