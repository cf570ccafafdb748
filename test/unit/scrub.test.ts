/** Error text is scrubbed of anything that looks like a credential before it reaches progress, logs or answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scrub } from '../../domain/scrub.js';

const cases: [string, string, string][] = [
  ['bearer token', 'request failed: Authorization: Bearer eyJhbGciOi.abc.def', 'eyJhbGciOi'],
  ['password=', 'bind failed for password=Sup3r!Secret; retry', 'Sup3r!Secret'],
  ['JSON secret', '{"clientSecret":"s3cr3t-value-123","x":1}', 's3cr3t-value-123'],
  ['CCG secret value', 'bad value LAB.EXAMPLE.TEST\\gmsa-user:P@ss:word!9 in vault', 'P@ss:word!9'],
  ['SAS signature', 'GET https://x.blob/c?sv=1&sig=AbCdEf%2B123 failed', 'AbCdEf%2B123'],
];

for (const [what, text, secret] of cases) {
  test(`removes a ${what}`, () => {
    const out = scrub(text);
    assert.ok(!out.includes(secret), out);
    assert.match(out, /\[redacted\]/);
  });
}

test('leaves ordinary error text alone', () => {
  const text =
    'ensureGmsa failed: no usable KDS root key (usable at 2026-11-28T10:00:00Z); CN=Users,DC=lab,DC=example,DC=test';
  assert.equal(scrub(text), text);
});
