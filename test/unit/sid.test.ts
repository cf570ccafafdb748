import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sidFromString, sidLength, sidToString } from '../../domain/sid.js';
import { hex, labDc } from '../support/ad-fixture.js';

test('SIDs the lab DC produced decode to the strings Samba printed, and encode back to the same bytes', () => {
  for (const p of [labDc.domain, ...labDc.users, labDc.gmsa]) {
    assert.equal(sidToString(hex(p.objectSid)), p.sid);
    assert.deepEqual(sidFromString(p.sid), hex(p.objectSid));
  }
});

test('well-known SID BUILTIN\\Administrators has the documented bytes', () => {
  assert.equal(sidFromString('S-1-5-32-544').toString('hex'), '01020000000000052000000020020000');
  assert.equal(sidToString(hex('01020000000000052000000020020000')), 'S-1-5-32-544');
});

test('sub-authorities above 2^31 and a SID without sub-authorities survive a round trip', () => {
  for (const s of ['S-1-5-21-4294967295-2147483648-1-500', 'S-1-0', 'S-1-16-12288']) {
    assert.equal(sidToString(sidFromString(s)), s);
  }
});

test('a SID inside a larger buffer is read at its offset with its own length', () => {
  const inner = sidFromString('S-1-5-21-1-2-3-1105');
  const buf = Buffer.concat([Buffer.from([9, 9, 9]), inner, Buffer.from([7])]);
  assert.equal(sidLength(buf, 3), inner.length);
  assert.equal(sidToString(buf, 3), 'S-1-5-21-1-2-3-1105');
});

test('malformed SIDs are refused', () => {
  for (const bad of ['', 'S-1', 'X-1-5-21', 'S-1-5-21-4294967296', `S-1-5${'-1'.repeat(16)}`, 'S-1-5-abc']) {
    assert.throws(() => sidFromString(bad), /SID/, bad);
  }
  assert.throws(() => sidToString(Buffer.from('0105000000000005150000', 'hex')), /truncated/);
  assert.throws(() => sidToString(Buffer.from('02010000000000050000000a', 'hex')), /malformed/);
});
