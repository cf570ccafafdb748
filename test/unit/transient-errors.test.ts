/**
 * One rule for what a retry can help (contract/retry.ts), and the three classifiers that speak it: Azure's SDK
 * errors, LDAP's, and Kubernetes'. Each is fed the error its client really throws for a failed connection (an
 * Error with the system code, as Node's sockets and DNS, the Azure SDK's RestError and fetch's cause carry it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { azureFailure, retryAfterMs as azureRetryAfter } from '../../activities/azure/errors.js';
import { toActivityFailure } from '../../activities/active-directory/ldap-errors.js';
import { toFailure } from '../../activities/kubernetes/errors.js';
import { retryAfterMs, TRANSIENT_NETWORK_CODES, UNRESOLVABLE_HOST_CODE } from '../../contract/retry.js';

const systemError = (code: string, message = `connect ${code} 10.0.0.4:636`) =>
  Object.assign(new Error(message), { code });

const classifiers = {
  azure: (code: string) =>
    azureFailure(Object.assign(systemError(code), { name: 'RestError' }), 'get vault rg/kv-gmsa-01'),
  ldap: (code: string) => toActivityFailure(systemError(code), 'binding to ldaps://dc1.contoso.com'),
  // @kubernetes/client-node's fetch puts the socket's error in `cause`.
  kubernetes: (code: string) =>
    toFailure(new TypeError('fetch failed', { cause: systemError(code) }), 'reading ClusterRole x', 'https://k8s:6443'),
};

test('every classifier retries each transient network code', () => {
  for (const code of TRANSIENT_NETWORK_CODES) {
    for (const [name, classify] of Object.entries(classifiers)) {
      const f = classify(code);
      assert.equal(f.nonRetryable, false, `${name} ${code}: ${f.message}`);
      assert.equal(f.type, 'Transient', `${name} ${code}`);
    }
  }
});

test('every classifier fails an unresolvable host name at once, as NotConfigured naming the host setting', () => {
  for (const [name, classify] of Object.entries(classifiers)) {
    const f = classify(UNRESOLVABLE_HOST_CODE);
    assert.equal(f.nonRetryable, true, `${name}: ${f.message}`);
    assert.equal(f.type, 'NotConfigured', name);
    assert.match(f.message, /does not resolve/, name);
  }
  // A DNS lookup that failed for now is EAI_AGAIN, and is retried.
  assert.ok(TRANSIENT_NETWORK_CODES.has('EAI_AGAIN'));
  assert.ok(!TRANSIENT_NETWORK_CODES.has(UNRESOLVABLE_HOST_CODE));
});

test('Retry-After: delay-seconds, an HTTP-date, and the ms variants Azure sends first', () => {
  const h = (headers: Record<string, string>) => (name: string) => headers[name];
  const now = Date.parse('Tue, 03 Mar 2026 10:00:00 GMT');
  assert.equal(retryAfterMs(h({ 'retry-after': '7' }), now), 7000);
  assert.equal(retryAfterMs(h({ 'retry-after': ' 1.5 ' }), now), 1500);
  assert.equal(retryAfterMs(h({ 'retry-after': 'Tue, 03 Mar 2026 10:00:30 GMT' }), now), 30_000);
  assert.equal(retryAfterMs(h({ 'retry-after': 'Tue, 03 Mar 2026 09:59:00 GMT' }), now), 0, 'a date passed: now');
  assert.equal(retryAfterMs(h({ 'retry-after': '7', 'retry-after-ms': '250' }), now), 250);
  assert.equal(retryAfterMs(h({ 'x-ms-retry-after-ms': '120' }), now), 120);
  for (const bad of ['', 'soon', '-3']) assert.equal(retryAfterMs(h({ 'retry-after': bad }), now), undefined, bad);
  assert.equal(retryAfterMs(h({}), now), undefined);
});

test("the Azure and Kubernetes classifiers carry the server's Retry-After to the next attempt", () => {
  // The Azure SDK's RestError: `response.headers.get` (case-insensitive in the SDK).
  const throttled = Object.assign(new Error('Too many requests'), {
    name: 'RestError',
    statusCode: 429,
    code: 'TooManyRequests',
    response: { headers: { get: (n: string) => ({ 'retry-after': '3' })[n] } },
  });
  assert.equal(azureRetryAfter(throttled), 3000);
  assert.deepEqual(azureFailure(throttled, 'put vault').details, [{ retryAfterMs: 3000 }]);
  // @kubernetes/client-node's ApiException: a plain header record, as the server cased it.
  const busy = new ApiException(429, 'Too Many Requests', { message: 'slow down' }, { 'Retry-After': '2' });
  assert.deepEqual(toFailure(busy, 'creating ClusterRole x').details, [{ retryAfterMs: 2000 }]);
});
