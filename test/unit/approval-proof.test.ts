/**
 * The approval's proof (temporal/approval-proof.ts), the worker's check of it (activities/approval.ts) and the
 * key's configuration (config/approval-key.ts): what the API signs verifies; any change to who, what, when or which
 * run, another key, or age fails with the reason; a bad key setting names its variable.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createApprovalActivities, NO_APPROVAL_KEY } from '../../activities/approval.js';
import { generateApprovalKey, readApprovalKey } from '../../config/approval-key.js';
import { ConfigError } from '../../config/env.js';
import type { SignedApproval } from '../../contract/activities.js';
import { signApproval, verifyApproval } from '../../temporal/approval-proof.js';

const key = () => Buffer.from(generateApprovalKey(), 'base64');
const RUN = 'gmsa-aks1-webapp01-0123456789ab';
const NOW = new Date('2025-06-01T12:00:00.000Z');
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);

test('what the API signs verifies, for that run, with and without a comment', () => {
  const k = key();
  const signed = signApproval(k, RUN, { by: 'alice', comment: 'key replicated' }, NOW);
  assert.deepEqual(
    { ...signed, proof: undefined },
    { by: 'alice', comment: 'key replicated', at: NOW.toISOString(), proof: undefined },
  );
  assert.match(signed.proof, /^[A-Za-z0-9_-]{43}$/, 'an HMAC-SHA256, base64url');
  assert.deepEqual(verifyApproval(k, RUN, signed, NOW), { valid: true });
  const bare = signApproval(k, RUN, { by: 'alice' }, NOW);
  assert.equal('comment' in bare, false);
  assert.deepEqual(verifyApproval(k, RUN, bare, minutes(14)), { valid: true });
});

test('a changed by, comment, at or run, another key, or a forged proof does not verify', () => {
  const k = key();
  const signed = signApproval(k, RUN, { by: 'alice', comment: 'ok' }, NOW);
  const tampered: [string, SignedApproval, string][] = [
    ['by', { ...signed, by: 'mallory' }, RUN],
    ['comment', { ...signed, comment: 'ok!' }, RUN],
    ['comment dropped', { by: signed.by, at: signed.at, proof: signed.proof }, RUN],
    ['at', { ...signed, at: minutes(1).toISOString() }, RUN],
    ['workflow id', signed, 'gmsa-aks2-webapp01-0123456789ab'],
    ['forged proof', { ...signed, proof: 'forged' }, RUN],
    ['empty proof', { ...signed, proof: '' }, RUN],
  ];
  for (const [what, approval, run] of tampered) {
    const check = verifyApproval(k, run, approval, NOW);
    assert.equal(check.valid, false, what);
    assert.match(check.reason!, /the API did not sign this approval for this run/, what);
  }
  assert.equal(verifyApproval(key(), RUN, signed, NOW).valid, false, 'another key');
  // A field run into the next must not make the same MAC: ("a", "b,c") against ("a,b", "c").
  const joined = signApproval(k, RUN, { by: 'alice","x', comment: 'y' }, NOW);
  assert.equal(verifyApproval(k, RUN, { ...joined, by: 'alice', comment: 'x","y' }, NOW).valid, false);
});

test('an approval lasts 15 minutes and may come 1 minute early; older or earlier is refused with why', () => {
  const k = key();
  const signed = signApproval(k, RUN, { by: 'alice' }, NOW);
  assert.equal(verifyApproval(k, RUN, signed, minutes(15)).valid, true);
  const stale = verifyApproval(k, RUN, signed, minutes(15.1));
  assert.equal(stale.valid, false);
  assert.match(stale.reason!, /signed 15 minutes ago; an approval lasts 15 minutes/);
  assert.equal(verifyApproval(k, RUN, signed, minutes(-1)).valid, true, 'the clock skew allowed');
  const early = verifyApproval(k, RUN, signed, minutes(-2));
  assert.equal(early.valid, false);
  assert.match(early.reason!, /in the future/);
});

test('an ill-shaped approval is an answer, not an exception', () => {
  const k = key();
  for (const bad of [undefined, {}, { by: 'a', at: NOW.toISOString() }, { by: 1, at: 'x', proof: 'p' }]) {
    const check = verifyApproval(k, RUN, bad as unknown as SignedApproval, NOW);
    assert.equal(check.valid, false);
    assert.match(check.reason!, /not shaped as the API signs it/);
  }
});

test('the activity: checks with its key; without one it refuses, naming GMSA_APPROVAL_KEY', async () => {
  const k = key();
  const signed = signApproval(k, RUN, { by: 'alice' });
  assert.deepEqual(await createApprovalActivities(k).verifyApproval({ workflowId: RUN, approval: signed }), {
    valid: true,
  });
  const other = await createApprovalActivities(key()).verifyApproval({ workflowId: RUN, approval: signed });
  assert.equal(other.valid, false);
  assert.deepEqual(await createApprovalActivities(undefined).verifyApproval({ workflowId: RUN, approval: signed }), {
    valid: false,
    reason: NO_APPROVAL_KEY,
  });
  assert.match(NO_APPROVAL_KEY, /GMSA_APPROVAL_KEY/);
});

test('the key: inline or from a file, 32 bytes or more, base64; errors name the variable', () => {
  const b64 = generateApprovalKey();
  assert.equal(readApprovalKey({}), undefined);
  assert.deepEqual(readApprovalKey({ GMSA_APPROVAL_KEY: b64 }), Buffer.from(b64, 'base64'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'approval-key-'));
  const file = path.join(dir, 'key');
  writeFileSync(file, `${b64}\n`);
  assert.deepEqual(readApprovalKey({ GMSA_APPROVAL_KEY_FILE: file }), Buffer.from(b64, 'base64'));
  const fails = (env: NodeJS.ProcessEnv, variable: string, message: RegExp) =>
    assert.throws(
      () => readApprovalKey(env),
      (e: unknown) => e instanceof ConfigError && e.variable === variable && message.test(e.message),
      JSON.stringify(env),
    );
  fails({ GMSA_APPROVAL_KEY: Buffer.alloc(16, 1).toString('base64') }, 'GMSA_APPROVAL_KEY', /at least 32 bytes/);
  fails({ GMSA_APPROVAL_KEY: `${b64.slice(0, 20)}!${b64.slice(21)}` }, 'GMSA_APPROVAL_KEY', /must be base64/);
  fails({ GMSA_APPROVAL_KEY: b64, GMSA_APPROVAL_KEY_FILE: file }, 'GMSA_APPROVAL_KEY', /not both/);
  fails({ GMSA_APPROVAL_KEY_FILE: path.join(dir, 'missing') }, 'GMSA_APPROVAL_KEY_FILE', /cannot read/);
});
