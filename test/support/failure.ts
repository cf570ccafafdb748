/** An assert.rejects validator for activity failures: the type, the retry class, the message, and no secret in it. */
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';

export function failureOf(type: string, nonRetryable: boolean, pattern?: RegExp, secret?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    assert.equal(err.nonRetryable, nonRetryable, err.message);
    if (pattern) assert.match(err.message, pattern);
    if (secret) assert.ok(!err.message.includes(secret), 'the message must not carry the password');
    return true;
  };
}
