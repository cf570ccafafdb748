/**
 * rotateGmsaUserPassword's logic on the real Temporal dev server, with activity doubles: AD before any vault, the
 * canonical secret written last, the staging secret dropped only after every vault has the password, equal and
 * skipped secrets reported as such, and what a failure at each point leaves for a rerun.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { fatal } from '../../contract/errors.js';
import type { BindingRecord } from '../../contract/operations.js';
import type { PublishUserPasswordInput, SecretRef } from '../../contract/rotation.js';
import type { ProvisionRequest } from '../../domain/request.js';
import { activityDoubles, doubleResult, type CallRecord, type Overrides } from '../../lab/activity-doubles.js';
import { DOUBLE_PASSWORD_SET_AT } from '../../lab/doubles/rotation.js';
import { operationProgressQuery } from '../../workflows/definitions.js';
import type { RotationOutputs } from '../../workflows/rotate-password.js';
import { uniqueRequest } from '../support/requests.js';
import { activitiesIn, devServerEnv, historyOf, withWorker } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

const vault = (name: string) => `https://${name}.vault.azure.net/`;
const uri = (r: SecretRef) => `${r.vaultUri.replace(/\/$/, '')}/secrets/${r.secretName}`;

/** A completed binding of `request`: its secret in its own vault. */
function binding(id: string, request: ProvisionRequest, status = 'COMPLETED'): BindingRecord {
  const secretUri = `${vault(request.azure.keyVault.name).replace(/\/$/, '')}/secrets/${request.azure.keyVault.secretName}`;
  return {
    bindingId: id,
    status,
    runId: 'run-1',
    request,
    ...(status === 'COMPLETED' ? { outputs: { secretUri, domainUserDn: `CN=${request.gmsa.standardUser}` } } : {}),
  };
}

interface World {
  id: string;
  request: ProvisionRequest;
  /** The user's canonical secret, in another binding's vault. */
  canonical: SecretRef;
  own: SecretRef;
  third: SecretRef;
}

function world(status = 'COMPLETED'): { w: World; overrides: Overrides } {
  const request = uniqueRequest('rot');
  const id = `gmsa-rot-${request.gmsa.credentialSpecName}-000000000001`;
  const canonical = { vaultUri: vault('kv-first'), secretName: request.azure.keyVault.secretName };
  const own = { vaultUri: vault(request.azure.keyVault.name), secretName: request.azure.keyVault.secretName };
  const third = { vaultUri: vault('kv-third'), secretName: 'other-name' };
  const w = { id, request, canonical, own, third };
  const overrides: Overrides = {
    readBinding: async () => binding(id, request, status),
    findDomainUser: async (i) => ({
      existing: {
        dn: `CN=${i.user},CN=Users,DC=contoso,DC=com`,
        ownership: 'ours',
        canonicalSecretUri: uri(canonical),
      },
    }),
    listUserSecrets: async (i) => ({
      // What Temporal records, in its own order: the canonical one is put first by the activity.
      secrets: [
        canonical,
        ...doubleResult('listUserSecrets', i).secrets.filter((s) => uri(s) !== uri(canonical)),
        third,
      ],
      bindings: [i.bindingId, 'gmsa-first-binding'],
    }),
  };
  return { w, overrides };
}

async function rotate(w: World, overrides: Overrides) {
  const { activities, calls } = activityDoubles(overrides);
  return withWorker(env, activities, async (taskQueue) => {
    const handle = await env.client.workflow.start('rotateGmsaUserPassword', {
      taskQueue,
      workflowId: `${w.id}.rotate`,
      args: [{ bindingId: w.id }],
    });
    const result = await handle.result().then(
      (r) => ({ ok: true as const, outputs: r as RotationOutputs }),
      (e: unknown) => ({ ok: false as const, error: e }),
    );
    const progress = await handle.query(operationProgressQuery);
    return { result, progress, calls, events: await historyOf(handle) };
  });
}

const called = (calls: CallRecord[], name: string) => calls.filter((c) => c.name === name);
const failureOf = (e: unknown) => {
  assert.ok(e instanceof WorkflowFailedError, String(e));
  return `${e.cause?.message ?? ''} ${(e.cause?.cause as Error | undefined)?.message ?? ''}`;
};

describe('rotateGmsaUserPassword', { concurrency: true }, () => {
  test('AD takes the staged password before any vault is written; the canonical secret is written last; the staging secret goes after', async () => {
    const { w, overrides } = world();
    const { result, calls, events, progress } = await rotate(w, overrides);
    assert.ok(result.ok, String(!result.ok && result.error));

    // Order by the history: what the workflow decided, and when each step ended.
    const acts = activitiesIn(events);
    const at = (name: string) => {
      const a = acts.find((x) => x.name === name);
      assert.ok(a, `${name} was not scheduled: ${acts.map((x) => x.name).join(', ')}`);
      return a;
    };
    assert.ok(at('stageUserPassword').closed! < at('setDomainUserPassword').scheduled, 'AD before the staging');
    assert.ok(at('setDomainUserPassword').closed! < at('publishUserPassword').scheduled, 'a vault before AD');
    assert.ok(at('publishUserPassword').closed! < at('dropStagedPassword').scheduled, 'drop before every vault');
    assert.ok(at('publishUserPassword').closed! < at('verifyChain').scheduled, 'chain checked before the vaults');

    // AD reads the staged secret in the canonical vault; publish copies it there last.
    const [stage] = called(calls, 'stageUserPassword');
    const staged = { vaultUri: w.canonical.vaultUri, secretName: `${w.canonical.secretName}-next` };
    assert.deepEqual((called(calls, 'setDomainUserPassword')[0]!.input as { from: SecretRef }).from, staged);
    const publish = called(calls, 'publishUserPassword')[0]!.input as PublishUserPasswordInput;
    assert.deepEqual(publish.from, staged);
    assert.deepEqual(publish.to.map(uri), [uri(w.own), uri(w.third), uri(w.canonical)]);
    assert.deepEqual((stage!.input as { candidates: SecretRef[] }).candidates.map(uri)[0], uri(w.canonical));
    // Every write names the binding as its owner, adopting nothing.
    for (const name of ['stageUserPassword', 'setDomainUserPassword', 'publishUserPassword', 'dropStagedPassword'])
      assert.deepEqual((called(calls, name)[0]!.input as { owner: unknown }).owner, { binding: w.id, adopt: [] }, name);
    // The chain check follows the binding's own secret: the one its credential spec names.
    assert.equal((called(calls, 'verifyChain')[0]!.input as { secretUri: string }).secretUri, uri(w.own));

    const out = result.outputs;
    assert.equal(out.passwordSetAt, DOUBLE_PASSWORD_SET_AT);
    assert.equal(out.adChanged, true);
    assert.deepEqual(
      out.secrets.map((s) => s.secretUri),
      [uri(w.own), uri(w.third), uri(w.canonical)],
    );
    assert.ok(out.secrets.every((s) => s.changed && /^[0-9a-f]{32}$/.test(s.version ?? '')));
    assert.deepEqual(out.bindings, [w.id, 'gmsa-first-binding']);
    assert.deepEqual(progress.outputs, out);
    assert.ok(
      progress.steps.every((s) => s.status === 'succeeded'),
      JSON.stringify(progress.steps),
    );
  });

  test('a secret that already holds the password gets no version, and skipped ones are reported with why', async () => {
    const { w, overrides } = world();
    overrides.stageUserPassword = async (i) => ({
      ...doubleResult('stageUserPassword', i),
      targets: [w.own, w.canonical],
      skipped: [{ secretUri: uri(w.third), reason: 'it no longer exists' }],
    });
    overrides.publishUserPassword = async (i) => ({
      versions: i.to.map((r) =>
        uri(r) === uri(w.own)
          ? { secretUri: uri(r), version: 'a'.repeat(32), changed: false }
          : { secretUri: uri(r), version: 'b'.repeat(32), changed: true },
      ),
    });
    const { result, progress } = await rotate(w, overrides);
    assert.ok(result.ok, String(!result.ok && result.error));
    assert.deepEqual(result.outputs.secrets, [
      { secretUri: uri(w.own), version: 'a'.repeat(32), changed: false },
      { secretUri: uri(w.canonical), version: 'b'.repeat(32), changed: true },
    ]);
    assert.deepEqual(result.outputs.skipped, [{ secretUri: uri(w.third), reason: 'it no longer exists' }]);
    const summary = progress.steps.find((s) => s.name === 'publishUserPassword')?.summary ?? '';
    assert.match(summary, /1 new version\(s\), 1 already current/);
  });

  test('AD refusing the password fails the run before any vault is written, and the staging secret stays for a rerun', async () => {
    const { w, overrides } = world();
    overrides.setDomainUserPassword = async () => {
      throw fatal('PreconditionFailed', 'the password does not meet the domain policy');
    };
    const { result, calls, progress } = await rotate(w, overrides);
    assert.ok(!result.ok);
    assert.match(failureOf(result.error), /setDomainUserPassword failed: .*domain policy/);
    assert.equal(called(calls, 'publishUserPassword').length, 0, 'a vault was written with a password AD refused');
    assert.equal(called(calls, 'dropStagedPassword').length, 0);
    assert.equal(progress.steps.find((s) => s.name === 'setDomainUserPassword')?.status, 'failed');
  });

  test('a vault write failing after AD keeps the staging secret (the rerun finishes with it) and skips the chain check', async () => {
    const { w, overrides } = world();
    overrides.publishUserPassword = async () => {
      throw fatal('Forbidden', 'write secret: 403 Forbidden');
    };
    const { result, calls } = await rotate(w, overrides);
    assert.ok(!result.ok);
    assert.match(failureOf(result.error), /publishUserPassword failed/);
    assert.equal(called(calls, 'setDomainUserPassword').length, 1);
    assert.equal(
      called(calls, 'dropStagedPassword').length,
      0,
      'the staged password was dropped before every vault had it',
    );
    assert.equal(called(calls, 'verifyChain').length, 0);
  });

  test('a binding whose provisioning did not complete is refused before anything is read or written', async () => {
    const { w, overrides } = world('FAILED');
    const { result, calls } = await rotate(w, overrides);
    assert.ok(!result.ok);
    assert.match(failureOf(result.error), /findDomainUser failed: provisioning .* is FAILED, not completed/);
    assert.deepEqual(
      calls.map((c) => c.name),
      ['readBinding'],
    );
  });

  test('a user that no longer exists is refused before any password is staged', async () => {
    const { w, overrides } = world();
    overrides.findDomainUser = async () => ({});
    const { result, calls } = await rotate(w, overrides);
    assert.ok(!result.ok);
    assert.match(failureOf(result.error), /does not exist/);
    assert.equal(called(calls, 'stageUserPassword').length, 0);
  });
});
