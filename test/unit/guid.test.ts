import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guidFromString, guidToString } from '../../domain/guid.js';
import { hex, labDc } from '../support/ad-fixture.js';

test('objectGUIDs the lab DC produced decode to the strings Samba printed, and back to the same bytes', () => {
  for (const p of [labDc.domain, ...labDc.users, labDc.gmsa]) {
    assert.equal(guidToString(hex(p.objectGUID)), p.guid);
    assert.deepEqual(guidFromString(p.guid), hex(p.objectGUID));
  }
});

test('the root key GUID inside msDS-ManagedPasswordId (bytes 24..40) reads as the key name samba-tool shows', () => {
  const id = hex(labDc.gmsa.managedPasswordId);
  assert.equal(guidToString(id.subarray(24, 40)), labDc.gmsa.managedPasswordRootKeyGuid);
});

test('the first three fields are little-endian, the last two in byte order', () => {
  const bytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  assert.equal(guidToString(bytes), '33221100-5544-7766-8899-aabbccddeeff');
  assert.deepEqual(guidFromString('{33221100-5544-7766-8899-AABBCCDDEEFF}'), bytes);
});

test('wrong lengths and shapes are refused', () => {
  assert.throws(() => guidToString(Buffer.alloc(15)), /16 bytes/);
  for (const bad of [
    '',
    '33221100-5544-7766-8899-aabbccddeef',
    '33221100554477668899aabbccddeeff',
    'zz221100-5544-7766-8899-aabbccddeeff',
  ]) {
    assert.throws(() => guidFromString(bad), /not a GUID/, bad);
  }
});
