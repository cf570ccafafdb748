/**
 * rotateGmsaUserPassword against the whole lab: two bindings of one gMSA user on two clusters (a vault each, as in
 * shared-world.test.ts), provisioned through the API, then rotated through Temporal as the API starts it. What each
 * test proves is in its name; everything is read back from the system that holds it (Key Vault, the DC, Temporal's
 * history), never from what the run says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { LdapSession } from '../../activities/active-directory/ldap-session.js';
import { createSecretReader } from '../../activities/azure/key-vault.js';
import { operationId, OPERATION_WORKFLOWS, scheduleId } from '../../contract/operations.js';
import { parseCcgSecret } from '../../domain/ccg-secret.js';
import type { ProvisionRequest } from '../../domain/request.js';
import type { RotationOutputs } from '../../workflows/rotate-password.js';
import { readEntry } from '../support/ad-lab.js';
import { LAB_RG, seedCluster } from '../support/azure-lab.js';
import {
  labRequest,
  removeBinding,
  removeByName,
  runTag,
  startE2eLab,
  type E2eLab,
  type View,
} from '../support/e2e-lab.js';
import { runOperation } from '../support/operations.js';
import { collectPayloads, historyOf, isPatchMarker, scheduleIds, type HistoryEvent } from '../support/temporal.js';
import { pollUntil } from '../support/poll.js';
import { domainUserKey, SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';

type Cluster = Awaited<ReturnType<typeof seedCluster>>;
let lab: E2eLab;
const made: { request: ProvisionRequest; binding: string; cluster: Cluster }[] = [];
const origin = (uri: string) => `${new URL(uri).origin}/`;

before(async () => {
  lab = await startE2eLab({ prefix: 'e2e-rotate' });
});
after(async () => {
  try {
    const failures: string[] = [];
    for (const m of [...made].reverse())
      failures.push(...(await removeBinding(lab, m.request, m.binding, m.cluster.nodeResourceGroup)));
    for (const m of made) await removeByName(lab, m.request);
    if (failures.length) throw new Error(`the product's removals failed:\n${failures.join('\n')}`);
  } finally {
    await lab?.close();
  }
});

/**
 * Every payload in a history, decoded with the lab's codec, as text; and the raw events. Patch markers and search
 * attributes are plain by design (the SDK's core and the server's index write them) and are in the raw events.
 */
async function historyText(events: HistoryEvent[]): Promise<string> {
  const payloads = collectPayloads(events).filter((p) => !isPatchMarker(p));
  const codec = lab.client.options.loadedDataConverter.payloadCodecs[0]!;
  const decoded = await codec.decode(payloads.map(({ metadata, data }) => ({ metadata, data })));
  return [JSON.stringify(events), ...decoded.map((p) => Buffer.from(p.data ?? []).toString('utf8'))].join('\n');
}

describe('password rotation on the lab', { timeout: 900_000 }, () => {
  const tag = runTag();
  let a: ProvisionRequest;
  let b: ProvisionRequest;
  let one: View;
  let two: View;
  const reader = () => createSecretReader(lab.azure);
  const valueOf = (v: View) => reader().read(origin(v.outputs!.secretUri), a.azure.keyVault.secretName);
  /** Every password the user had during the suite, to look for in the histories. */
  const passwords: string[] = [];
  const runs: { id: string; runId: string }[] = [];

  before(async () => {
    const first = await seedCluster();
    const second = await seedCluster();
    a = labRequest(first, tag, 'a');
    // Binding a asks for a rotation Schedule; b does not.
    a.options.rotatePasswordEvery = '30d';
    b = labRequest(second, tag, 'b');
    for (const [r, c] of [
      [a, first],
      [b, second],
    ] as const) {
      const id = await lab.start(r);
      made.push({ request: r, binding: id, cluster: c });
      const v = await lab.waitForEnd(id, 400_000);
      assert.equal(v.status, 'COMPLETED', `${v.status}: ${v.error}`);
      if (r === a) one = v;
      else two = v;
    }
    // Temporal's visibility (what listUserSecrets reads) catches up with a closed run shortly after it closes.
    const key = domainUserKey(a.domain.fqdn, a.gmsa.standardUser);
    await pollUntil(
      'both provisionings to be visible as completed',
      async () => {
        let n = 0;
        const query = `WorkflowType = 'provisionGmsa' AND ExecutionStatus = 'Completed' AND ${SEARCH_ATTRIBUTES.domainUser.name} = '${key}'`;
        for await (const w of lab.client.workflow.list({ query }))
          if (w.typedSearchAttributes.get(SEARCH_ATTRIBUTES.domainUser) === key) n++;
        return n >= 2 || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  async function rotate(binding: string) {
    const run = await runOperation<RotationOutputs>(lab.client, lab.settings.taskQueue, 'rotate-password', {
      bindingId: binding,
    });
    runs.push({ id: run.id, runId: (await lab.client.workflow.getHandle(run.id).describe()).runId });
    return run;
  }

  test(
    'rotate: every vault of the user gets a new version with one new password, AD binds with it, the chain holds',
    { timeout: 300_000 },
    async () => {
      const old = await valueOf(one);
      assert.equal(await valueOf(two), old, 'the two bindings share the password before the rotation');
      passwords.push(parseCcgSecret(old)!.password);
      const dn = one.outputs!.domainUserDn;
      const before = await readEntry(lab.ad, dn, ['pwdLastSet']);
      const versionsBefore = await Promise.all(
        [one, two].map(
          async (v) =>
            (await lab.azure.secrets(origin(v.outputs!.secretUri)).getSecret(a.azure.keyVault.secretName)).properties
              .version,
        ),
      );

      const { result, progress } = await rotate(made[0]!.binding);

      const now = await Promise.all([valueOf(one), valueOf(two)]);
      assert.ok(now[0] === now[1], "the second binding's vault holds another value than the first's");
      assert.ok(now[0] !== old, 'the password did not change');
      const credential = parseCcgSecret(now[0]!)!;
      passwords.push(credential.password);
      assert.equal(credential.user, a.gmsa.standardUser);
      assert.equal(credential.domain, a.domain.fqdn);

      // A new version in each vault, the one the outputs name.
      for (const [i, v] of [one, two].entries()) {
        const secret = await lab.azure.secrets(origin(v.outputs!.secretUri)).getSecret(a.azure.keyVault.secretName);
        assert.notEqual(secret.properties.version, versionsBefore[i]);
        const out = result.secrets.find((s) => s.secretUri.toLowerCase() === v.outputs!.secretUri.toLowerCase());
        assert.deepEqual(out, { secretUri: out?.secretUri, version: secret.properties.version, changed: true });
      }
      assert.equal(result.secrets.length, 2, JSON.stringify(result.secrets));
      assert.deepEqual(result.bindings, made.map((m) => m.binding).sort());

      // AD: the new password binds; pwdLastSet moved and is what the run reports. (The old one still binds for
      // Samba's "old password allowed period", 60 minutes: what the AD-first order relies on.)
      assert.equal(await LdapSession.canBind(lab.ad.config, dn, credential.password), true);
      assert.notEqual(await LdapSession.canBind(lab.ad.config, dn, `${credential.password}x`), true);
      const after = await readEntry(lab.ad, dn, ['pwdLastSet']);
      assert.notEqual(after?.pwdLastSet, before?.pwdLastSet);
      assert.equal(result.adChanged, true);
      assert.ok(result.passwordSetAt);

      // The chain check of the run, and the other binding's chain checked now by the activity itself.
      assert.ok(result.chain.length >= 4 && result.chain.every((c) => c.ok), JSON.stringify(result.chain));
      const chain = await lab.activities.verifyChain({
        cluster: b.cluster,
        domainFqdn: b.domain.fqdn,
        gmsaName: b.gmsa.name,
        specName: b.gmsa.credentialSpecName,
        secretUri: two.outputs!.secretUri,
        rbac: b.options.rbac,
      });
      assert.deepEqual(
        chain.checks.filter((c) => !c.ok),
        [],
      );
      // The staging secret is gone.
      await assert.rejects(
        lab.azure.secrets(origin(one.outputs!.secretUri)).getSecret(`${a.azure.keyVault.secretName}-next`),
        (e: { statusCode?: number }) => e.statusCode === 404,
      );
      assert.ok(
        progress.steps.every((s) => s.status === 'succeeded'),
        JSON.stringify(progress.steps),
      );
    },
  );

  test(
    'a run that fails after AD took the password (a vault refuses the write) is finished by a rerun with the same password',
    { timeout: 300_000 },
    async () => {
      const subscriptionId = b.cluster.subscriptionId;
      const me = await lab.azure.caller();
      const policy = (op: 'add' | 'remove') =>
        lab.azure
          .keyVault(subscriptionId)
          .vaults.updateAccessPolicy(b.azure.resourceGroup ?? LAB_RG, b.azure.keyVault.name, op, {
            properties: {
              accessPolicies: [{ tenantId: me.tenantId, objectId: me.objectId, permissions: { secrets: ['set'] } }],
            },
          });
      const before = await valueOf(one);
      await policy('remove');
      let failedRun: { id: string; runId: string } | undefined;
      try {
        const id = operationId(made[0]!.binding, 'rotate-password');
        const handle = await lab.client.workflow.start(OPERATION_WORKFLOWS['rotate-password'], {
          workflowId: id,
          taskQueue: lab.settings.taskQueue,
          args: [{ bindingId: made[0]!.binding }],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        });
        failedRun = { id, runId: handle.firstExecutionRunId };
        runs.push(failedRun);
        const err = await handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof WorkflowFailedError, `the run did not fail: ${String(err)}`);
        assert.match(String(err.cause?.message), /^publishUserPassword failed: .*403/);
      } finally {
        await policy('add');
      }
      // Where it stopped: AD has the staged password, neither vault has it yet (the copy is written first, and
      // refused), and the staging secret holds it.
      const staged = await reader().read(origin(one.outputs!.secretUri), `${a.azure.keyVault.secretName}-next`);
      const stagedPassword = parseCcgSecret(staged)!.password;
      passwords.push(stagedPassword);
      assert.equal(await valueOf(one), before);
      assert.equal(await valueOf(two), before);
      assert.equal(await LdapSession.canBind(lab.ad.config, one.outputs!.domainUserDn, stagedPassword), true);

      const { result } = await rotate(made[0]!.binding);
      assert.equal(result.adChanged, false, 'the rerun set AD again (a second password)');
      assert.equal(await valueOf(one), staged, 'the rerun made another password than the one AD took');
      assert.equal(await valueOf(two), staged);
      assert.ok(result.chain.every((c) => c.ok));
    },
  );

  test('the rotation Schedule exists in Temporal when the request asks for one, and only then', () => {
    const listed = scheduleIds();
    const [bindingA, bindingB] = made.map((m) => m.binding);
    assert.ok(listed.includes(scheduleId(bindingA!, 'rotate-password')), `${bindingA}.rotate in ${listed.join(', ')}`);
    assert.ok(!listed.includes(scheduleId(bindingB!, 'rotate-password')), 'no rotation Schedule unless asked');
    assert.ok(listed.includes(scheduleId(bindingB!, 'repair')), 'the repair Schedule by default');
  });

  test("no password the user had is in any rotation run's history, decoded or raw", async () => {
    assert.ok(runs.length >= 3 && passwords.length >= 3, `${runs.length} runs, ${passwords.length} passwords`);
    for (const r of runs) {
      const text = await historyText(await historyOf(lab.client.workflow.getHandle(r.id, r.runId)));
      assert.match(text, /"bindingId"/, 'the history was not decoded (no input payload in it)');
      for (const p of passwords) assert.ok(!text.includes(p), `run ${r.runId}'s history holds a password`);
    }
  });
});
