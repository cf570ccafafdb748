import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dateFromFileTime,
  FILETIME_NEVER,
  fileTimeFromDate,
  fileTimeString,
  parseFileTime,
} from '../../domain/filetime.js';
import { labDc } from '../support/ad-fixture.js';

test('the lab DC root key times read as the times samba-tool printed', () => {
  assert.equal(dateFromFileTime(labDc.rootKey.createTime).toISOString(), labDc.rootKey.createTimeIso);
  assert.equal(dateFromFileTime(labDc.rootKey.useStartTime).toISOString(), labDc.rootKey.useStartTimeIso);
});

test('epoch anchors: 1601-01-01 is 0 and 1970-01-01 is 116444736000000000', () => {
  assert.equal(fileTimeFromDate(new Date('1601-01-01T00:00:00Z')), 0n);
  assert.equal(fileTimeString(new Date(0)), '116444736000000000');
  assert.equal(dateFromFileTime(116444736000000000n).getTime(), 0);
});

test('a date survives the round trip at millisecond precision', () => {
  const d = new Date('2026-11-28T09:58:19.602Z');
  assert.equal(dateFromFileTime(fileTimeString(d)).toISOString(), d.toISOString());
});

test('never-expires and malformed values', () => {
  assert.equal(parseFileTime('9223372036854775807'), FILETIME_NEVER);
  for (const bad of ['', '-1', '12a', '1'.repeat(20)]) assert.throws(() => parseFileTime(bad), /FILETIME/, bad);
  assert.throws(() => fileTimeFromDate(new Date(NaN)), /invalid date/);
});
