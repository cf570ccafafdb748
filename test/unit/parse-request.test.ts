/**
 * The request rules: defaults, real naming limits, field-level errors, both input forms, the workflow id. Every name
 * rule against the activities' own checks: naming.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADOPT_KINDS, type AdoptKind } from '../../domain/ownership.js';
import { parseProvisionRequest } from '../../domain/parse-request.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { provisioningId, PROVISIONING_ID_PATTERN } from '../../domain/workflow-id.js';
import { exampleRequest } from '../support/requests.js';

/** The example with every defaulted field left out: options keeps only the one it must say. */
const minimal = () => {
  const r = exampleRequest() as unknown as Record<string, unknown>;
  r.options = { enableGmsaOnCluster: true };
  delete r.kdsRootKey;
  return r;
};
const errorsOf = (body: unknown) => {
  const r = parseProvisionRequest(body);
  assert.equal(r.ok, false, 'expected a rejection');
  return Object.fromEntries(
    (r as { errors: { field: string; message: string }[] }).errors.map((e) => [e.field, e.message]),
  );
};
const withField = (path: string[], value: unknown) => {
  const r = exampleRequest() as unknown as Record<string, unknown>;
  let node = r as Record<string, unknown>;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
  return r;
};

describe('parseProvisionRequest', () => {
  test('applies the documented defaults', () => {
    const r = parseProvisionRequest(minimal());
    assert.ok(r.ok);
    assert.deepEqual(r.request.options, {
      enableGmsaOnCluster: true,
      requireAdApproval: false,
      hostIdentity: 'managedIdentity',
      keyVaultAccess: 'accessPolicy',
      rbac: { namespace: 'default', serviceAccount: 'default' },
      rollbackOnFailure: false,
      adopt: [],
    });
    assert.deepEqual(r.request.kdsRootKey, { create: true, effective: 'immediately' });
  });

  test('does not change the caller’s object', () => {
    const body = minimal();
    parseProvisionRequest(body);
    assert.deepEqual(body.options, { enableGmsaOnCluster: true });
    assert.equal(body.kdsRootKey, undefined);
  });

  test('options.enableGmsaOnCluster has no default: enabling gMSA reimages the Windows nodes, the caller says so', () => {
    const body = minimal();
    delete body.options;
    assert.match(
      errorsOf(body)['/options/enableGmsaOnCluster']!,
      /is required \(true or false\).*reimages its Windows nodes/,
    );
    body.options = { enableGmsaOnCluster: false };
    const r = parseProvisionRequest(body);
    assert.ok(r.ok);
    assert.equal(r.request.options.enableGmsaOnCluster, false);
  });

  const limits: [string[], unknown, RegExp][] = [
    [['gmsa', 'name'], 'a'.repeat(16), /15/],
    [['gmsa', 'name'], 'web/app', /no spaces/],
    [['gmsa', 'name'], 'svc$', /without the trailing \$: AD adds it \(the account of gMSA svc is svc\$\)/],
    [['gmsa', 'name'], 'Administrator', /built-in account.*whatever options\.adopt/],
    [['gmsa', 'name'], 'KRBTGT', /built-in account/],
    [['gmsa', 'name'], 'guest', /built-in account/],
    [['gmsa', 'standardUser'], 'Administrator', /built-in account.*whatever options\.adopt/],
    [['gmsa', 'standardUser'], 'KRBTGT', /built-in account/],
    [['gmsa', 'standardUser'], 'guest', /built-in account/],
    [['gmsa', 'standardUser'], 'gmsa-webapp01$', /must not end in \$: that marks a machine account/],
    [['gmsa', 'standardUser'], 'u'.repeat(21), /20/],
    [['azure', 'keyVault', 'name'], 'kv', /3-24/],
    [['azure', 'keyVault', 'name'], 'k'.repeat(25), /3-24/],
    [['azure', 'keyVault', 'name'], 'kv--double', /no --/],
    [['gmsa', 'credentialSpecName'], 'WebApp01', /lowercase RFC 1123/],
    [['domain', 'dnsServer'], 'dc1.contoso.com', /IPv4/],
    [['domain', 'fqdn'], 'not a domain', /DNS name/],
    [['cluster', 'subscriptionId'], 'abc', /GUID/],
    [['cluster', 'windowsNodePools'], [], /fewer than 1|at least|1/],
    [['options', 'hostIdentity'], 'nodeIdentity', /one of "managedIdentity", "kubeletIdentity"/],
  ];
  for (const [path, value, message] of limits) {
    test(`refuses ${path.join('.')} = ${JSON.stringify(value).slice(0, 30)}`, () => {
      const errors = errorsOf(withField(path, value));
      const field = `/${path.join('/')}`;
      assert.ok(errors[field], `an error for ${field}: ${JSON.stringify(errors)}`);
      assert.match(errors[field]!, message);
    });
  }

  test('accepts the limits themselves', () => {
    const r = withField(['gmsa', 'name'], 'a'.repeat(15));
    (r as Record<string, Record<string, unknown>>).gmsa!.standardUser = 'u'.repeat(20);
    (r as Record<string, Record<string, Record<string, unknown>>>).azure!.keyVault!.name = 'k'.repeat(24);
    assert.equal(parseProvisionRequest(r).ok, true);
  });

  test('refuses unknown fields at any depth', () => {
    const errors = errorsOf(withField(['gmsa', 'password'], 'x'));
    assert.equal(errors['/gmsa/password'], 'unknown field');
  });

  test('refuses a well-known account whatever options.adopt says', () => {
    for (const name of ['Administrator', 'KRBTGT', 'guest']) {
      for (const field of ['name', 'standardUser']) {
        const r = withField(['gmsa', field], name) as unknown as ProvisionRequest;
        r.options.adopt = ['domainUser', 'gmsa'];
        assert.match(errorsOf(r)[`/gmsa/${field}`]!, /built-in account/, `${field} ${name}`);
      }
    }
  });

  test('accepts a standard user named like the gMSA: its account is name$, so AD holds both', () => {
    // Shown on the lab's Samba DC: user x and gMSA x (sAMAccountName x$) are both created, in either order; a user
    // x$ is what collides (refused above, and by AD).
    assert.equal(parseProvisionRequest(withField(['gmsa', 'standardUser'], 'WEBAPP01')).ok, true);
  });

  test('options.adopt: an unknown kind is refused with the value and the kinds', () => {
    const r = exampleRequest({ options: { adopt: ['domainUser', 'vault' as AdoptKind] } });
    assert.equal(
      errorsOf(r)['/options/adopt/1'],
      '"vault" is not a kind options.adopt knows; the kinds are ' + ADOPT_KINDS.join(', '),
    );
    const dup = errorsOf(exampleRequest({ options: { adopt: ['gmsa', 'gmsa'] } }));
    assert.match(dup['/options/adopt']!, /duplicate/);
    const ok = parseProvisionRequest(exampleRequest({ options: { adopt: [...ADOPT_KINDS] } }));
    assert.ok(ok.ok);
    assert.deepEqual(ok.request.options.adopt, ADOPT_KINDS);
  });

  test('the PowerShell params: mapped, defaults from the caller, errors under the flat key', () => {
    const flat = {
      'aks-cluster-rg-name': 'rg',
      'aks-cluster-name': 'aks1',
      'aks-win-node-pools-names': ['win1', 'win2'],
      'aks-root-domain-name': 'contoso.com',
      'aks-domain-dns-server': '10.0.0.4',
      'gmsa-name': 'webapp01',
      'gmsa-domain-user-name': 'gmsa-webapp01',
      'gmsa-spec-name': 'webapp01',
      'azure-location': 'westeurope',
      'akv-name': 'kv-gmsa-01',
      'akv-secret-name': 's',
      'ami-name': 'mi-gmsa-01',
    };
    const ok = parseProvisionRequest(flat, { subscriptionId: '00000000-0000-0000-0000-000000000000' });
    assert.ok(ok.ok);
    assert.deepEqual(ok.request.cluster.windowsNodePools, ['win1', 'win2']);
    assert.equal(ok.request.domain.fqdn, 'contoso.com');
    assert.equal(ok.request.domain.dnsServer, '10.0.0.4');
    // A params file was written for Confirm-AksGMSAConfiguration, which enables gMSA when it is off.
    assert.equal(ok.request.options.enableGmsaOnCluster, true);
    const noSub = errorsOf(flat);
    assert.ok(noSub['/subscription-id'], 'names the flat key of the missing subscription');
    const unknown = errorsOf({ ...flat, 'aks-cluster-nmae': 'typo' });
    assert.match(unknown['/aks-cluster-nmae']!, /unknown parameter/);
    const sub = { subscriptionId: '00000000-0000-0000-0000-000000000000' };
    const dollar = parseProvisionRequest({ ...flat, 'gmsa-name': 'svc$' }, sub);
    assert.ok(
      !dollar.ok && dollar.errors.some((e) => e.field === '/gmsa-name' && /without the trailing \$/.test(e.message)),
    );
    const admin = parseProvisionRequest({ ...flat, 'gmsa-domain-user-name': 'administrator' }, sub);
    assert.ok(
      !admin.ok && admin.errors.some((e) => e.field === '/gmsa-domain-user-name' && /built-in/.test(e.message)),
    );
  });
});

describe('provisioningId', () => {
  test('is deterministic, case-insensitive for ARM names, and distinct per cluster and spec', () => {
    const a = exampleRequest();
    const upper = exampleRequest();
    upper.cluster.resourceGroup = 'RG-AKS';
    upper.cluster.name = 'AKS1';
    assert.equal(provisioningId(a), provisioningId(upper));
    assert.notEqual(provisioningId(a), provisioningId(exampleRequest({ spec: 'other' })));
    const otherSub = exampleRequest();
    otherSub.cluster.subscriptionId = '11111111-1111-1111-1111-111111111111';
    assert.notEqual(provisioningId(a), provisioningId(otherSub));
    assert.match(provisioningId(a), new RegExp(PROVISIONING_ID_PATTERN));
    assert.match(provisioningId(a), /^gmsa-aks1-webapp01-[0-9a-f]{12}$/);
  });
});

describe('the Schedules options (repairEvery, rotatePasswordEvery)', () => {
  test('absent by default: the repair Schedule then runs every 6h, no rotation Schedule', () => {
    const r = parseProvisionRequest(minimal());
    assert.ok(r.ok);
    assert.equal(r.request.options.repairEvery, undefined);
    assert.equal(r.request.options.rotatePasswordEvery, undefined);
  });

  test('a duration is accepted as it is, and "off" for repair', () => {
    const body = minimal();
    body.options = { enableGmsaOnCluster: true, repairEvery: 'off', rotatePasswordEvery: '30d' };
    const r = parseProvisionRequest(body);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.equal(r.request.options.repairEvery, 'off');
    assert.equal(r.request.options.rotatePasswordEvery, '30d');
  });

  test('a bad value is refused under its field, saying what a duration is', () => {
    const repair = errorsOf(withField(['options', 'repairEvery'], '6 hours'));
    assert.match(
      repair['/options/repairEvery']!,
      /must be a whole number of minutes, hours or days.*30m, 6h or 30d, or off/,
    );
    const rotate = errorsOf(withField(['options', 'rotatePasswordEvery'], 'off'));
    assert.match(rotate['/options/rotatePasswordEvery']!, /must be a whole number of minutes, hours or days/);
    assert.doesNotMatch(rotate['/options/rotatePasswordEvery']!, /or off/, 'rotation is off by leaving it out');
    assert.ok(errorsOf(withField(['options', 'rotatePasswordEvery'], 30))['/options/rotatePasswordEvery']);
  });
});
