import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUnicodePwd, encodeUnicodePwd } from '../../domain/unicode-pwd.js';

test('the password is quoted and UTF-16LE encoded', () => {
  assert.equal(encodeUnicodePwd('Ab1!').toString('hex'), '220041006200310021002200');
});

test('non-ASCII, quotes and colons survive the round trip', () => {
  for (const pw of ['Pässwörd:1"x', 'Ω≈ç√∫-9', 'with space']) assert.equal(decodeUnicodePwd(encodeUnicodePwd(pw)), pw);
});

test('an empty password and values without the quotes are refused', () => {
  assert.throws(() => encodeUnicodePwd(''), /empty/);
  assert.throws(() => decodeUnicodePwd(Buffer.from('abc', 'utf16le')), /not a unicodePwd/);
  assert.throws(() => decodeUnicodePwd(Buffer.from([0x22])), /not a unicodePwd/);
});
