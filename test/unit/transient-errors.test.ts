/**
 * One rule for what a retry can help (contract/retry.ts), and the three classifiers that speak it: Azure's SDK
 * errors, LDAP's, and Kubernetes'. Each is fed the error its client really throws for a failed connection (an
 * Error with the system code, as Node's sockets and DNS, the Azure SDK's RestError and fetch's cause carry it).
 * Then the waits Azure's own answers call for: a busy resource's jittered 10-30 s, RBAC propagation's 30 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import {
  azureFailure,
  BUSY_RETRY_MS,
  busyRetryMs,
  retryAfterMs as azureRetryAfter,
  VAULT_RACE_RETRY_MS,
} from '../../activities/azure/errors.js';
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

// ---- retry budgets that match Azure (issue 11) ---------------------------------------------------------------

/** An ARM error as the SDK's RestError carries it, with the headers Azure sent. */
const armError = (statusCode: number, code: string, message: string, headers: Record<string, string> = {}) =>
  Object.assign(new Error(message), {
    name: 'RestError',
    statusCode,
    code,
    response: { headers: { get: (n: string) => headers[n] } },
  });
const hint = (f: { details?: unknown[] | null }) =>
  (f.details?.[0] as { retryAfterMs?: number } | undefined)?.retryAfterMs;

/** Each of `errors` is retried after a wait within `range`, the same in nextRetryDelay and in the details. */
function waitsWithin(errors: Error[], what: string, range: { min: number; max: number }) {
  for (const e of errors) {
    const f = azureFailure(e, what);
    assert.equal(f.type, 'Transient', e.message);
    assert.equal(f.nonRetryable, false, e.message);
    const wait = hint(f);
    assert.ok(wait !== undefined && wait >= range.min && wait <= range.max, `${e.message}: ${wait}`);
    assert.equal(f.nextRetryDelay, wait, 'the server waits exactly that long');
  }
}

test('a busy 409 without Retry-After waits a jittered 10-30 s, in nextRetryDelay and in the details', () => {
  const busy = [
    armError(409, 'OperationNotAllowed', "Another operation is in progress on virtual machine scale set 'akswin1'."),
    armError(
      409,
      'OperationNotAllowed',
      "Operation is not allowed because there's an in progress update managed cluster operation on the managed cluster.",
    ),
    armError(409, 'AnotherOperationInProgress', 'Another operation is in progress.'),
  ];
  waitsWithin(busy, 'update identities of scale set rg/akswin1', BUSY_RETRY_MS);
});

test("Key Vault's two writers on one vault: the race 409 retries after a jittered 0.2-2 s, not a busy wait", () => {
  const races = [
    armError(
      409,
      'ConflictError',
      "A conflict occurred that prevented the operation from completing. The operation failed because the Key Vault 'kv-a' changed from the point the operation began. This can happen if parallel operations are being performed on the Key Vault. To prevent this error, serialize the operations so that only one operation is performed on the Key Vault at a time.",
    ),
    armError(409, 'ConflictError', 'There was a conflict while trying to serialize the vault. Please retry.'),
  ];
  waitsWithin(races, 'add access policy on vault rg/kv-a', VAULT_RACE_RETRY_MS);
  const deleted = armError(
    409,
    'ConflictError',
    'A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault.',
  );
  assert.equal(azureFailure(deleted, 'create vault').nonRetryable, true, 'the soft-delete name conflict stays');
});

test('the busy wait is drawn across its whole range, so a crowd refused together does not retry in step', () => {
  assert.equal(
    busyRetryMs(() => 0),
    BUSY_RETRY_MS.min,
  );
  assert.equal(
    busyRetryMs(() => 0.5),
    (BUSY_RETRY_MS.min + BUSY_RETRY_MS.max) / 2,
  );
  assert.ok(busyRetryMs(() => 0.999999) <= BUSY_RETRY_MS.max);
  assert.ok(BUSY_RETRY_MS.min >= 10_000 && BUSY_RETRY_MS.max > BUSY_RETRY_MS.min);
  const e = armError(409, 'OperationNotAllowed', 'Another operation is in progress.');
  const draws = new Set(Array.from({ length: 50 }, () => hint(azureFailure(e, 'patch'))));
  // 50 draws from 20 001 values: all the same only with probability 20001^-49.
  assert.ok(draws.size > 1, 'the waits differ');
});

test("a busy 409 with Retry-After waits Azure's time", () => {
  const f = azureFailure(
    armError(409, 'OperationNotAllowed', 'Another operation is in progress.', { 'retry-after': '7' }),
    'patch',
  );
  assert.equal(f.type, 'Transient');
  assert.equal(hint(f), 7000);
  assert.equal(f.nextRetryDelay, 7000);
});

test('an operation that ended Failed because another took the resource waits as a busy 409 does', () => {
  const f = azureFailure(
    new Error('The long-running operation has failed. OperationPreempted. Operation was preempted by a newer one.'),
    'enable Windows gMSA on cluster rg/c',
  );
  assert.equal(f.type, 'Transient');
  const wait = hint(f);
  assert.ok(wait !== undefined && wait >= BUSY_RETRY_MS.min && wait <= BUSY_RETRY_MS.max, String(wait));
  assert.equal(f.nextRetryDelay, wait);
  // The same, read from the operation's Location URL (an HTTP error with the operation's code).
  const viaLocation = azureFailure(armError(400, 'OperationNotAllowed', 'Another operation is in progress.'), 'patch');
  assert.equal(viaLocation.type, 'Transient');
  assert.ok((hint(viaLocation) ?? 0) >= BUSY_RETRY_MS.min);
});

test('OperationNotAllowed that is a limit, not a busy resource, fails at once', () => {
  const f = azureFailure(
    armError(
      409,
      'OperationNotAllowed',
      "Unable to create or update VirtualMachineScaleSet 'x' as it exceeds the total limit of '100' Virtual Machine instances.",
    ),
    'update scale set rg/x',
  );
  assert.equal(f.nonRetryable, true);
  assert.equal(f.type, 'PreconditionFailed');
  // A name conflict stays a Conflict.
  assert.equal(azureFailure(armError(409, 'Conflict', 'exists'), 'put').type, 'Conflict');
});

test('a 403 "please observe propagation time" retries on the step\'s backoff; any other 403 fails at once', () => {
  const propagating = armError(
    403,
    'Forbidden',
    'Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.',
  );
  const f = azureFailure(propagating, 'read secret s');
  assert.equal(f.type, 'Transient');
  assert.equal(f.nonRetryable, false);
  assert.match(f.message, /may still be propagating \(up to 10 minutes\)/);
  // No fixed wait: a grant that lands in seconds is seen in seconds (retry-budgets.test.ts adds up the backoff).
  assert.equal(hint(f), undefined);
  assert.equal(f.nextRetryDelay, undefined);
  const denied = azureFailure(armError(403, 'AuthorizationFailed', 'does not have authorization'), 'put');
  assert.equal(denied.type, 'Forbidden');
  assert.equal(denied.nonRetryable, true);
});
