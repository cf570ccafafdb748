/**
 * The whole product against the whole lab: the real worker activities (Samba AD DC, the ARM fake and its vaults,
 * the real kube-apiserver), the API with encrypted payloads, and the README's lab request with names of this run's
 * own (the lab outlives the run: fixed names would find the last run's objects and prove nothing). It must create
 * every object, each checked in its own system; a second identical request must change nothing; no secret (the
 * generated password, the domain-admin password, the Key Vault secret value) may appear in the raw history, a log
 * line or an answer; and what it created is removed again afterwards.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Client } from '@temporalio/client';
import { parseCcgSecret } from '../../domain/ccg-secret.js';
import { createSecretReader } from '../../activities/azure/key-vault.js';
import { allowedTrustees } from '../../domain/security-descriptor.js';
import { sidToString } from '../../domain/sid.js';
import { provisioningId } from '../../domain/workflow-id.js';
import { ENCODING } from '../../temporal/codec.js';
import { connect, readEntry } from '../support/ad-lab.js';
import { pollUntil } from '../support/poll.js';
import { collectPayloads, isPatchMarker, type RawPayload } from '../support/temporal.js';
import { labRequest, removeBinding, runTag, startE2eLab, TOKENS, type E2eLab, type Role } from '../support/e2e-lab.js';

const as = (role: Role) => ({ authorization: `Bearer ${TOKENS[role]}` });

/** Log lines of worker and API, kept to search for secrets. */
const logLines: string[] = [];
const capture = new Writable({
  write(chunk, _enc, done) {
    logLines.push(String(chunk));
    done();
  },
});

let e2e: E2eLab;
const answers: string[] = [];
let request: ReturnType<typeof labRequest>;

before(async () => {
  e2e = await startE2eLab({ prefix: 'e2e', logTo: capture, answers });
  // The README's lab request, every name this run's own (within AD's and Azure's limits).
  const tag = runTag();
  request = labRequest(undefined, tag);
  request.gmsa = { name: `e2e${tag}`, standardUser: `gmsa-e2e-${tag}`, credentialSpecName: `e2e-${tag}` };
  request.azure.keyVault = { name: `kv-e2e-${tag}`, secretName: `gmsa-e2e-${tag}` };
  request.azure.managedIdentity = { name: `mi-e2e-${tag}` };
});

after(async () => {
  try {
    if (e2e && request) await removeWhatThisRunCreated();
  } finally {
    await e2e?.close();
  }
});

/** The product's own removals, newest first, for this run's binding: the lab keeps nothing of this run. */
async function removeWhatThisRunCreated() {
  const { cluster } = request;
  const { nodeResourceGroup } = await e2e.azure
    .aks(cluster.subscriptionId)
    .managedClusters.get(cluster.resourceGroup, cluster.name);
  const failures = await removeBinding(e2e, request, provisioningId(request), String(nodeResourceGroup));
  if (failures.length) throw new Error(`cleaning up this run's objects failed:\n${failures.join('\n')}`);
}

const call = (method: 'GET' | 'POST', url: string, role: Role, payload?: object) =>
  e2e.call(method, url, role, payload);

type View = {
  id: string;
  status: string;
  phase: string;
  steps: { name: string; status: string; summary?: string }[];
  outputs: Record<string, string>;
};

async function provision(): Promise<View> {
  const res = await call('POST', '/v1/provisionings', 'operator', request);
  assert.equal(res.statusCode, 202, res.body);
  const { id } = res.json();
  let view: View | undefined;
  return pollUntil(
    'the provisioning to end',
    async () => {
      view = (await call('GET', `/v1/provisionings/${id}`, 'viewer')).json() as View;
      if (view.status !== 'RUNNING') return view;
      // Approve when asked: the lab key is backdated, so normally there is nothing to wait for.
      if (view.steps.find((s) => s.name === 'awaitAdApproval')?.status === 'waiting') {
        await call('POST', `/v1/provisionings/${id}/approve`, 'approver', {});
      }
      return undefined;
    },
    { timeoutMs: 240_000, intervalMs: 500, last: () => String(view?.phase) },
  );
}

let first: View;
let second: View;

describe('a lab provisioning end to end', () => {
  test(
    'the README lab request creates every object, each as the request says, in its own system',
    { timeout: 300_000 },
    async () => {
      first = await provision();
      const failed = first.steps.filter((s) => s.status !== 'succeeded');
      assert.equal(first.status, 'COMPLETED', `${first.phase}: ${JSON.stringify(failed)}`);
      assert.deepEqual(failed, []);
      const summary = (name: string) => first.steps.find((s) => s.name === name)!.summary!;
      for (const name of ['ensureManagedIdentity', 'ensureKeyVault', 'ensureDomainUser', 'ensureGmsa'])
        assert.match(summary(name), /^created /, `${name}: ${summary(name)}`);
      assert.match(summary('storeUserSecret'), /^stored a new secret/);
      assert.match(summary('ensureCredentialSpec'), /^wrote spec /);
      assert.match(summary('verifyChain'), /✔ Key Vault secret.*✔ AD bind.*✔ gMSA managed password.*✔ RBAC/);

      const { cluster, domain, gmsa, azure: a } = request;
      const rg = a.resourceGroup ?? cluster.resourceGroup;
      const out = first.outputs;

      // Azure: the identity, and a vault whose access policy lets that identity read secrets.
      const identity = await e2e.azure
        .msi(cluster.subscriptionId)
        .userAssignedIdentities.get(rg, a.managedIdentity.name);
      assert.equal(identity.id, out.managedIdentityId);
      assert.equal(identity.principalId, out.hostPrincipalId, 'the hosts read the secret as this identity');
      const vault = await e2e.azure.keyVault(cluster.subscriptionId).vaults.get(rg, a.keyVault.name);
      assert.equal(vault.id, out.keyVaultId);
      const policy = vault.properties.accessPolicies?.find((p) => p.objectId === identity.principalId);
      assert.ok(
        policy?.permissions.secrets?.some((x) => /^(get|all)$/i.test(x)),
        'the identity may get secrets',
      );

      // The secret: the standard user's credential, in the CCG plugin's DOMAIN\user:password form.
      assert.equal(out.secretUri, `${vault.properties.vaultUri!.replace(/\/$/, '')}/secrets/${a.keyVault.secretName}`);
      const credential = parseCcgSecret(
        await createSecretReader(e2e.azure).read(vault.properties.vaultUri!, a.keyVault.secretName),
      );
      assert.ok(credential, 'the secret is in the CCG form');
      assert.deepEqual([credential.domain, credential.user], [domain.fqdn, gmsa.standardUser]);

      // AD: the user, enabled and holding the password from the secret; the gMSA, readable by that user only.
      const user = await readEntry(e2e.ad, out.domainUserDn!, ['sAMAccountName', 'objectSid', 'userAccountControl']);
      assert.equal(user?.sAMAccountName, gmsa.standardUser);
      assert.equal(Number(user?.userAccountControl) & 0x2, 0, 'the user is enabled');
      const asUser = await connect(e2e.ad, `${credential.user}@${credential.domain}`, credential.password);
      try {
        const account = await asUser.read(out.gmsaDn!, [
          'sAMAccountName',
          'msDS-GroupMSAMembership',
          'msDS-ManagedPassword',
        ]);
        assert.equal(account?.sAMAccountName, `${gmsa.name}$`);
        assert.ok(
          Buffer.isBuffer(account?.['msDS-ManagedPassword']),
          'the user bound with the secret reads the password',
        );
      } finally {
        await asUser.close();
      }
      const account = await readEntry(e2e.ad, out.gmsaDn!, ['objectClass', 'msDS-GroupMSAMembership']);
      assert.ok([account?.objectClass].flat().includes('msDS-GroupManagedServiceAccount'));
      assert.deepEqual(allowedTrustees(account?.['msDS-GroupMSAMembership'] as Buffer), [
        sidToString(user?.objectSid as Buffer),
      ]);

      // Kubernetes: the spec names this gMSA and points the plugin at this identity and secret.
      const spec = (await e2e.kube.makeApiClient(CustomObjectsApi).getClusterCustomObject({
        group: 'windows.k8s.io',
        version: 'v1',
        plural: 'gmsacredentialspecs',
        name: gmsa.credentialSpecName,
      })) as {
        credspec: {
          DomainJoinConfig: { MachineAccountName: string; DnsName: string };
          ActiveDirectoryConfig: { HostAccountConfig: { PluginInput: string } };
        };
      };
      assert.equal(out.credentialSpecName, gmsa.credentialSpecName);
      assert.equal(spec.credspec.DomainJoinConfig.MachineAccountName, gmsa.name);
      assert.equal(spec.credspec.DomainJoinConfig.DnsName, domain.fqdn);
      assert.equal(
        spec.credspec.ActiveDirectoryConfig.HostAccountConfig.PluginInput,
        `ObjectId=${identity.principalId};SecretUri=${out.secretUri}`,
      );
    },
  );

  test('a second identical request changes nothing', { timeout: 300_000 }, async () => {
    assert.ok(first, 'needs the first provisioning');
    second = await provision();
    assert.equal(second.status, 'COMPLETED', second.phase);
    const summary = (name: string) => second.steps.find((s) => s.name === name)!.summary!;
    assert.equal(summary('confirmAksGmsa'), 'gMSA already enabled');
    for (const name of [
      'ensureManagedIdentity',
      'ensureKeyVault',
      'ensureKdsRootKey',
      'ensureDomainUser',
      'ensureGmsa',
    ]) {
      assert.match(summary(name), /^found /, `${name}: ${summary(name)}`);
    }
    assert.match(summary('storeUserSecret'), /^kept the secret/);
    assert.match(summary('ensureCredentialSpec'), /^unchanged spec/);
  });

  test('no secret in the raw history, the logs or the API answers; the codec endpoint decodes for a viewer only', async () => {
    assert.ok(second, 'needs both provisionings');
    const secretValue = await createSecretReader(e2e.azure).read(
      await vaultUriOf(first.id),
      request.azure.keyVault.secretName,
    );
    const password = secretValue.slice(secretValue.indexOf(':', secretValue.indexOf('\\')) + 1);
    const adminPassword = process.env.AD_BIND_PASSWORD!;
    assert.ok(password.length >= 16 && adminPassword.length >= 8);
    const forbidden = {
      'generated password': password,
      'domain-admin password': adminPassword,
      'secret value': secretValue,
    };

    // The raw history, as Temporal stores it and its UI fetches it without the codec.
    const raw = new Client({ connection: e2e.client.connection });
    for (const view of [first, second]) {
      const history = await raw.workflow.getHandle(view.id).fetchHistory();
      const text = JSON.stringify(history);
      const payloads = collectPayloads(history);
      assert.ok(payloads.length > 20, 'the history holds payloads');
      for (const p of payloads) {
        const encoding = Buffer.from(p.metadata?.encoding ?? []).toString();
        // patched() markers are the one plain payload (isPatchMarker), and must hold a patch id and nothing else.
        if (isPatchMarker(p)) {
          const data = JSON.parse(Buffer.from(p.data ?? []).toString()) as { id?: unknown; deprecated?: unknown };
          assert.deepEqual(Object.keys(data).sort(), ['deprecated', 'id'], `${p.path} holds only a patch id`);
          continue;
        }
        assert.equal(encoding, ENCODING, `every payload is encrypted: ${p.path} is ${encoding}`);
      }
      const bytes = Buffer.concat(payloads.map((p) => Buffer.from(p.data ?? [])));
      for (const [what, value] of Object.entries(forbidden)) {
        assert.ok(!text.includes(value) && !bytes.includes(value), `the raw history holds the ${what}`);
      }
      assert.ok(!bytes.includes(request.gmsa.standardUser), 'without the codec even names are unreadable');

      // Through the codec endpoint the same payloads decode, and still hold no secret.
      const body = { payloads: payloads.map((p) => toJson(p)) };
      const denied = await e2e.app.inject({ method: 'POST', url: '/codec/decode', payload: body });
      assert.equal(denied.statusCode, 401, 'the codec endpoint refuses without a token');
      const decoded = await e2e.app.inject({
        method: 'POST',
        url: '/codec/decode',
        headers: as('viewer'),
        payload: body,
      });
      assert.equal(decoded.statusCode, 200);
      const plain = Buffer.concat(
        (decoded.json().payloads as { data: string }[]).map((p) => Buffer.from(p.data, 'base64')),
      ).toString();
      assert.ok(plain.includes(request.gmsa.standardUser), 'decoded payloads are readable');
      for (const [what, value] of Object.entries(forbidden))
        assert.ok(!plain.includes(value), `a payload holds the ${what}`);
    }

    const logs = logLines.join('');
    assert.ok(logs.includes('domain user ensured'), 'the worker logged its work');
    const apiAnswers = answers.join('\n');
    for (const [what, value] of Object.entries(forbidden)) {
      assert.ok(!logs.includes(value), `a log line holds the ${what}`);
      assert.ok(!apiAnswers.includes(value), `an API answer holds the ${what}`);
    }
  });
});

function toJson(p: RawPayload) {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

async function vaultUriOf(id: string): Promise<string> {
  const view = (await call('GET', `/v1/provisionings/${id}`, 'viewer')).json() as { outputs: { secretUri: string } };
  return `${new URL(view.outputs.secretUri).origin}/`;
}
