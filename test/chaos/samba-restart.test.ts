/**
 * Chaos: the Samba DC restarted mid-run (issue 13). One provisioning on a cluster of its own; its vault create is
 * held in the ARM fake, so the AD steps that need the secret (ensureDomainUser, then ensureGmsa) have not begun.
 * Samba is stopped (every LDAP connection drops), the hold released, and the domain-user step is seen failing
 * against the dead DC and retrying; then Samba starts again and the run must complete, nothing made twice. Samba is
 * shared by every suite: the chaos phase runs alone, and Samba is started again whatever happens.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProvisionRequest } from '../../domain/request.js';
import { sambaLab } from '../../lab/samba/index.js';
import { mark, requestsSince, seedCluster, withOverride } from '../support/azure-lab.js';
import { assertNothingTwice, expectAllComplete, removeRuns, reportRecovery, step, watchRun } from '../support/chaos.js';
import { labRequest, runTag, startE2eLab, type E2eLab } from '../support/e2e-lab.js';
import { pollUntil } from '../support/poll.js';

const AD_STEP = 'ensureDomainUser';
let lab: E2eLab;
const made: { request: ProvisionRequest; id: string; nodeResourceGroup: string }[] = [];

before(async () => {
  lab = await startE2eLab({ prefix: 'chaos-samba' });
});

after(async () => {
  try {
    await sambaLab.start(); // back up for everyone, whatever the test did
    await removeRuns(lab, made);
  } finally {
    await lab?.close();
  }
});

test('Samba restarted mid-run: the AD steps retry and the run completes', { timeout: 300_000 }, async () => {
  const cluster = await seedCluster();
  const request = labRequest(cluster, runTag());
  const vault = request.azure.keyVault.name;
  const since = await mark();

  await withOverride({ pathIncludes: vault, op: 'PUT vaults', hold: true }, async (hold) => {
    const id = await lab.start(request);
    made.push({ request, id, nodeResourceGroup: cluster.nodeResourceGroup });
    await pollUntil(
      'the vault create to be accepted and held',
      async () => (await requestsSince(since, `/vaults/${vault}`)).some((r) => r.method === 'PUT' && r.status === 201),
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    // The AD steps that need no secret have used the DC already (their LDAP connections are open).
    await watchRun(lab, id, 'the first AD steps to be done', (v) =>
      ['getDomainFacts', 'ensureKdsRootKey'].every((s) => step(v, s)?.status === 'succeeded'),
    );

    const stoppedAt = Date.now();
    await sambaLab.stop();
    await hold.release();
    const failed = await watchRun(lab, id, `${AD_STEP} to fail against the stopped DC and retry`, (v) => {
      const s = step(v, AD_STEP);
      return s && s.status !== 'succeeded' && s.lastError ? s : undefined;
    });
    assert.equal(failed.lastError?.retryable, true, `a DC that is down is worth a retry: ${JSON.stringify(failed)}`);
    await sambaLab.start();
    const downMs = Date.now() - stoppedAt;
    await watchRun(
      lab,
      id,
      `${AD_STEP} to succeed once the DC is back`,
      (v) => step(v, AD_STEP)?.status === 'succeeded',
    );
    const ms = Date.now() - stoppedAt;
    reportRecovery(
      'samba-restart',
      ms,
      `DC down ${(downMs / 1000).toFixed(1)} s; ${AD_STEP} retried (attempt ${failed.attempts} when seen failing)`,
    );
    await expectAllComplete(lab, [id]);
  });
  await assertNothingTwice(lab, since, cluster, [request]);
});
