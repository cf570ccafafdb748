/**
 * One table of names, put through the API's validation (parseProvisionRequest) and through each activity's own
 * check (names.ts for the AD steps, credential-spec.ts for the Kubernetes ones, the worker's AD_USER_CONTAINER):
 * both must accept and refuse the very same names, so a request the API lets through never fails a step for a name.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkGmsaName, checkRelativeDn, checkUserName } from '../../activities/active-directory/names.js';
import { rbacTargetProblems, specNameProblems } from '../../domain/credential-spec.js';
import { nameProblem, REQUEST_NAME_FIELDS, USER_NAME } from '../../domain/naming.js';
import { parseProvisionRequest } from '../../domain/parse-request.js';
import { readActiveDirectoryConfig } from '../../worker/config/active-directory.js';
import { failureOf } from '../support/failure.js';
import { exampleRequest } from '../support/requests.js';

type Field = 'gmsa.name' | 'gmsa.standardUser' | 'gmsa.credentialSpecName' | 'rbac.namespace' | 'rbac.serviceAccount';

/** [field, value, accepted]. */
const NAME_CASES: readonly (readonly [Field, string, boolean])[] = [
  ['gmsa.name', 'webapp01', true],
  ['gmsa.name', 'a'.repeat(15), true],
  ['gmsa.name', 'web.app', true],
  ['gmsa.name', 'a'.repeat(16), false],
  ['gmsa.name', '', false],
  ['gmsa.name', 'svc$', false],
  ['gmsa.name', 'a$b', false],
  ['gmsa.name', 'svc.', false],
  ['gmsa.name', 'web app', false],
  ['gmsa.name', 'web\tapp', false],
  ['gmsa.name', 'web\u0001app', false],
  ...[...'"/\\[]:;|=,+*?<>@'].map((c) => ['gmsa.name', `web${c}app`, false] as const),
  ['gmsa.name', 'Administrator', false],
  ['gmsa.name', 'KRBTGT', false],
  ['gmsa.name', 'guest', false],
  ['gmsa.name', 'DefaultAccount', false],
  ['gmsa.standardUser', 'gmsa-webapp01', true],
  ['gmsa.standardUser', 'u'.repeat(20), true],
  ['gmsa.standardUser', 'Administrator1', true],
  ['gmsa.standardUser', 'u'.repeat(21), false],
  ['gmsa.standardUser', '', false],
  ['gmsa.standardUser', 'user.', false],
  ['gmsa.standardUser', 'user$', false],
  ['gmsa.standardUser', 'us er', false],
  ['gmsa.standardUser', 'us@er', false],
  ['gmsa.standardUser', 'Administrator', false],
  ['gmsa.standardUser', 'KRBTGT', false],
  ['gmsa.standardUser', 'guest', false],
  ['gmsa.standardUser', 'krbtgt$', false],
  ['gmsa.standardUser', 'WDAGUtilityAccount', false],
  ['gmsa.credentialSpecName', 'webapp01', true],
  ['gmsa.credentialSpecName', 'a'.repeat(63), true],
  ['gmsa.credentialSpecName', 'a'.repeat(64), false],
  ['gmsa.credentialSpecName', 'WebApp01', false],
  ['gmsa.credentialSpecName', '-web', false],
  ['gmsa.credentialSpecName', 'web.app', false],
  ['rbac.namespace', 'default', true],
  ['rbac.namespace', 'Team-A', false],
  ['rbac.namespace', 'a.b', false],
  ['rbac.serviceAccount', 'web.app-sa', true],
  ['rbac.serviceAccount', 'a'.repeat(253), true],
  ['rbac.serviceAccount', 'a'.repeat(254), false],
  ['rbac.serviceAccount', 'Web', false],
  ['rbac.serviceAccount', 'a..b', false],
];

function request(field: Field, value: string) {
  const r = exampleRequest();
  const [part, key] = field.split('.') as [string, string];
  const target = part === 'gmsa' ? r.gmsa : r.options.rbac;
  (target as Record<string, string>)[key] = value;
  // Keep the other name of the pair valid and distinct from the one under test.
  if (field === 'gmsa.standardUser') r.gmsa.name = 'webapp01';
  if (field === 'gmsa.name') r.gmsa.standardUser = 'gmsa-webapp01';
  return r;
}

const POINTER: Record<Field, string> = {
  'gmsa.name': '/gmsa/name',
  'gmsa.standardUser': '/gmsa/standardUser',
  'gmsa.credentialSpecName': '/gmsa/credentialSpecName',
  'rbac.namespace': '/options/rbac/namespace',
  'rbac.serviceAccount': '/options/rbac/serviceAccount',
};

/** What the API says: undefined when it accepts, else the message on the field. */
function api(field: Field, value: string): string | undefined {
  const r = parseProvisionRequest(request(field, value));
  if (r.ok) return undefined;
  const errors = r.errors;
  const mine = errors.find((e) => e.field === POINTER[field]);
  assert.ok(mine, `the error is on ${POINTER[field]}: ${JSON.stringify(errors)}`);
  assert.equal(errors.length, 1, `only that field is refused: ${JSON.stringify(errors)}`);
  return mine.message;
}

/** What the step that uses the name says: undefined when it accepts, else its problem. */
function activity(field: Field, value: string): string | undefined {
  const thrown = (f: () => void) => {
    try {
      f();
      return undefined;
    } catch (err) {
      failureOf('InvalidInput', true)(err);
      return (err as Error).message;
    }
  };
  const rbac = { specName: 'webapp01', namespace: 'default', serviceAccount: 'default' };
  switch (field) {
    case 'gmsa.name':
      return thrown(() => checkGmsaName(value));
    case 'gmsa.standardUser':
      return thrown(() => checkUserName(value));
    case 'gmsa.credentialSpecName':
      return specNameProblems(value)[0];
    case 'rbac.namespace':
      return rbacTargetProblems({ ...rbac, namespace: value })[0];
    case 'rbac.serviceAccount':
      return rbacTargetProblems({ ...rbac, serviceAccount: value })[0];
  }
}

describe('the API and the activities refuse the same names', () => {
  for (const [field, value, accepted] of NAME_CASES) {
    test(`${field} = ${JSON.stringify(value).slice(0, 40)}: ${accepted ? 'accepted' : 'refused'} by both`, () => {
      const byApi = api(field, value);
      const byActivity = activity(field, value);
      assert.equal(byApi === undefined, accepted, `the API: ${byApi ?? 'accepted'}`);
      assert.equal(byActivity === undefined, accepted, `the activity: ${byActivity ?? 'accepted'}`);
    });
  }

  test('every name field of the request is in the table', () => {
    const pointers = new Set(NAME_CASES.map(([f]) => POINTER[f]));
    for (const [field] of REQUEST_NAME_FIELDS) assert.ok(pointers.has(field), `${field} has cases`);
  });

  test('the AD steps refuse a bad name non-retryably, naming it and the rule', () => {
    assert.throws(
      () => checkGmsaName('svc$'),
      failureOf('InvalidInput', true, /^gMSA name "svc\$" must be given without the trailing \$/),
    );
    assert.throws(
      () => checkUserName('Administrator'),
      failureOf('InvalidInput', true, /^standard user name "Administrator" must not be a built-in account.*adopt/),
    );
    assert.throws(() => checkUserName('u'.repeat(21)), failureOf('InvalidInput', true, /is 21 characters long/));
  });

  test('lengths count code points, as the JSON schema does', () => {
    const astral = '\u{1F600}'.repeat(20); // 40 UTF-16 units, 20 code points
    assert.equal(nameProblem(USER_NAME, astral), undefined);
    assert.equal(api('gmsa.standardUser', astral), undefined);
  });
});

describe('the standard user container: one rule for the AD steps and the worker setting', () => {
  const cases: [string, boolean][] = [
    ['CN=Users', true],
    ['OU=Service Accounts,OU=Corp', true],
    ['OU=a\\,b', true],
    ['CN=Users,DC=contoso,DC=com', false],
    ['dc=contoso', false],
    ['OU=x, dc=y', false],
    ['Users', false],
    ['', false],
    ['CN=Users,', false],
  ];
  const env = { AD_URL: 'ldaps://dc1.contoso.com', AD_BIND_USER: 'admin@contoso.com', AD_BIND_PASSWORD: 'x' };
  for (const [dn, accepted] of cases) {
    test(`${JSON.stringify(dn)}: ${accepted ? 'accepted' : 'refused'}`, () => {
      if (accepted) assert.doesNotThrow(() => checkRelativeDn(dn));
      else assert.throws(() => checkRelativeDn(dn), failureOf('InvalidInput', true, /container .* relative/));
      // An empty AD_USER_CONTAINER means unset (the default), so only non-empty values compare.
      if (dn !== '') {
        const worker = () => readActiveDirectoryConfig({ ...env, AD_USER_CONTAINER: dn });
        if (accepted) assert.doesNotThrow(worker);
        else assert.throws(worker, /AD_USER_CONTAINER/);
      }
    });
  }
});
