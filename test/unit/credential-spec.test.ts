import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AKS_CCG_PLUGIN_GUID,
  buildCredentialSpec,
  buildCredentialSpecRbac,
  CredentialSpecInputError,
  pluginInput,
  roleBindingName,
  serviceAccountUser,
  specNameProblems,
  type CredentialSpecParams,
} from '../../domain/credential-spec.js';

const params: CredentialSpecParams = {
  specName: 'webapp01',
  gmsaName: 'webapp01',
  domain: {
    dnsName: 'contoso.com',
    netbiosName: 'CONTOSO',
    forestRoot: 'corp.contoso.com',
    domainGuid: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee',
    domainSid: 'S-1-5-21-1111111111-2222222222-3333333333',
  },
  hostAccount: {
    principalId: '11111111-2222-3333-4444-555555555555',
    secretUri: 'https://kv-gmsa-01.vault.azure.net/secrets/gmsa-webapp01',
  },
};

const expectInvalid = (p: CredentialSpecParams, fragment: RegExp) =>
  assert.throws(
    () => buildCredentialSpec(p),
    (e: unknown) => e instanceof CredentialSpecInputError && fragment.test(e.message),
  );

describe('credential spec document', () => {
  it('is exactly the document the webhook injects and the CCG plugin reads', () => {
    assert.deepEqual(buildCredentialSpec(params), {
      apiVersion: 'windows.k8s.io/v1',
      kind: 'GMSACredentialSpec',
      metadata: { name: 'webapp01', labels: { 'app.kubernetes.io/managed-by': 'aks-gmsa' } },
      credspec: {
        CmsPlugins: ['ActiveDirectory'],
        DomainJoinConfig: {
          DnsName: 'contoso.com',
          DnsTreeName: 'corp.contoso.com',
          Guid: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee',
          MachineAccountName: 'webapp01',
          NetBiosName: 'CONTOSO',
          Sid: 'S-1-5-21-1111111111-2222222222-3333333333',
        },
        ActiveDirectoryConfig: {
          GroupManagedServiceAccounts: [
            { Name: 'webapp01', Scope: 'contoso.com' },
            { Name: 'webapp01', Scope: 'CONTOSO' },
          ],
          HostAccountConfig: {
            PortableCcgVersion: '1',
            PluginGUID: '{CCC2A336-D7F3-4818-A213-272B7924213E}',
            PluginInput:
              'ObjectId=11111111-2222-3333-4444-555555555555;SecretUri=https://kv-gmsa-01.vault.azure.net/secrets/gmsa-webapp01',
          },
        },
      },
    });
  });

  it('uses the domain SID and GUID, never anything of the gMSA, and drops the $ of a sAMAccountName', () => {
    const doc = buildCredentialSpec({ ...params, gmsaName: 'webapp01$' }).credspec;
    assert.equal(doc.DomainJoinConfig.Sid, params.domain.domainSid);
    assert.equal(doc.DomainJoinConfig.Guid, params.domain.domainGuid);
    assert.equal(doc.DomainJoinConfig.MachineAccountName, 'webapp01');
    assert.deepEqual(
      doc.ActiveDirectoryConfig.GroupManagedServiceAccounts.map((a) => a.Name),
      ['webapp01', 'webapp01'],
    );
  });

  it('writes the GUID in lower case, as Get-ADDomain prints it', () => {
    const doc = buildCredentialSpec({
      ...params,
      domain: { ...params.domain, domainGuid: '66AA66AA-BB77-CC88-DD99-00EE00EE00EE' },
    }).credspec;
    assert.equal(doc.DomainJoinConfig.Guid, '66aa66aa-bb77-cc88-dd99-00ee00ee00ee');
  });

  it('keeps the plugin input to the two keys the plugin parses, ObjectId being the principal id', () => {
    assert.equal(pluginInput('a', 'https://v/secrets/s'), 'ObjectId=a;SecretUri=https://v/secrets/s');
    const input = buildCredentialSpec({
      ...params,
      hostAccount: { ...params.hostAccount, secretUri: `${params.hostAccount.secretUri}/` },
    }).credspec.ActiveDirectoryConfig.HostAccountConfig;
    assert.equal(input.PluginGUID, AKS_CCG_PLUGIN_GUID);
    assert.match(input.PluginInput, /;SecretUri=https:\/\/kv-gmsa-01\.vault\.azure\.net\/secrets\/gmsa-webapp01$/);
  });

  it('refuses spec names Kubernetes or RBAC resourceNames would not match', () => {
    for (const bad of ['WebApp01', 'web_app', '-web', 'web-', '', 'a'.repeat(64), 'web.app']) {
      assert.notDeepEqual(specNameProblems(bad), [], bad);
      expectInvalid({ ...params, specName: bad }, /lowercase RFC 1123/);
    }
    for (const good of ['w', 'webapp01', 'web-app-01', 'a'.repeat(63)]) assert.deepEqual(specNameProblems(good), []);
  });

  it('refuses a gMSA SID in place of the domain SID, and a bad GUID', () => {
    expectInvalid({ ...params, domain: { ...params.domain, domainSid: 'S-1-5-21-1-2-3-1105' } }, /domain SID/);
    expectInvalid({ ...params, domain: { ...params.domain, domainGuid: 'not-a-guid' } }, /domain GUID/);
  });

  it('refuses a client id that is not a GUID and secret URIs the plugin cannot use', () => {
    expectInvalid({ ...params, hostAccount: { ...params.hostAccount, principalId: 'mi-gmsa-01' } }, /principal id/);
    for (const uri of [
      'http://kv.vault.azure.net/secrets/s',
      'https://kv.vault.azure.net/secrets/s/0123456789abcdef',
      'https://kv.vault.azure.net/keys/s',
      'https://kv.vault.azure.net/secrets/s;x=y',
      'https://kv.vault.azure.net/secrets/s?api-version=7.4',
      'not a uri',
    ])
      expectInvalid({ ...params, hostAccount: { ...params.hostAccount, secretUri: uri } }, /secret URI/);
  });

  it('reports every problem at once', () => {
    assert.throws(
      () => buildCredentialSpec({ ...params, specName: 'Bad', gmsaName: 'a name with spaces' }),
      (e: unknown) => e instanceof CredentialSpecInputError && e.problems.length === 2,
    );
  });
});

describe('credential spec RBAC', () => {
  it('grants only `use` on the one spec, bound to one service account in one namespace', () => {
    const { clusterRole, roleBinding } = buildCredentialSpecRbac({
      specName: 'webapp01',
      namespace: 'shop',
      serviceAccount: 'web',
    });
    assert.deepEqual(clusterRole, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'webapp01-role', labels: { 'app.kubernetes.io/managed-by': 'aks-gmsa' } },
      rules: [
        {
          apiGroups: ['windows.k8s.io'],
          resources: ['gmsacredentialspecs'],
          verbs: ['use'],
          resourceNames: ['webapp01'],
        },
      ],
    });
    assert.deepEqual(roleBinding, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: {
        name: 'allow-web-svc-account-read-on-webapp01',
        namespace: 'shop',
        labels: { 'app.kubernetes.io/managed-by': 'aks-gmsa' },
      },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'shop' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'webapp01-role' },
    });
  });

  it('keeps binding names within 253 characters and distinct per service account', () => {
    const sa = (c: string) => `${c.repeat(60)}.${'x'.repeat(60)}.${'y'.repeat(60)}.${'z'.repeat(60)}`;
    const a = roleBindingName('s'.repeat(63), sa('a'));
    const b = roleBindingName('s'.repeat(63), sa('b'));
    assert.ok(a.length <= 253 && b.length <= 253);
    assert.notEqual(a, b);
    assert.match(a, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
  });

  it('refuses namespaces and service accounts that are not Kubernetes names', () => {
    assert.throws(
      () => buildCredentialSpecRbac({ specName: 'w', namespace: 'Default', serviceAccount: 'x' }),
      /namespace/,
    );
    assert.throws(
      () => buildCredentialSpecRbac({ specName: 'w', namespace: 'd', serviceAccount: 'a_b' }),
      /service account/,
    );
  });

  it("names the service account's user as the API server authenticates its tokens", () => {
    assert.deepEqual(serviceAccountUser('shop', 'web'), {
      user: 'system:serviceaccount:shop:web',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'],
    });
  });
});
