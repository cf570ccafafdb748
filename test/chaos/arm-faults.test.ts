/**
 * Chaos: ARM faults at about 20 % (issue 13). A small fleet on a cluster of its own while the fake answers about one
 * call in five on the fleet's resources (its cluster, the scale sets in its node resource group, its identities,
 * vaults and their data planes) with 429 and Retry-After, 500, 503, or a dropped connection. Every run must complete
 * and nothing may exist twice. The recovery printed is, over every injected fault, the time until the same path
 * next answered 2xx (the worst case and the median).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProvisionRequest } from '../../domain/request.js';
import type { FaultKind } from '../../lab/azure/knobs.js';
import { admin, mark, seedCluster } from '../support/azure-lab.js';
import { assertNothingTwice, expectAllComplete, removeRuns, reportRecovery } from '../support/chaos.js';
import { labRequest, runTag, startE2eLab, type E2eLab } from '../support/e2e-lab.js';

const RUNS = 4;
/** Four kinds on two scopes, each at this rate: 1 - (1 - 0.028)^8 ≈ 20 % of the fleet's calls. */
const RATE = 0.028;
const KINDS: FaultKind[] = ['throttle', 'server', 'unavailable', 'reset'];

let lab: E2eLab;
const made: { request: ProvisionRequest; id: string; nodeResourceGroup: string }[] = [];

before(async () => {
  lab = await startE2eLab({ prefix: 'chaos-arm' });
});

after(async () => {
  try {
    await removeRuns(lab, made);
  } finally {
    await lab?.close();
  }
});

test(
  'ARM faults at 20 % across a small fleet: every run completes, nothing made twice',
  { timeout: 300_000 },
  async () => {
    const cluster = await seedCluster();
    // One site name for the fleet: every vault, identity and spec of it contains `-<site>`.
    const site = `f${runTag().slice(0, 4)}`;
    const requests = Array.from({ length: RUNS }, () => labRequest(cluster, runTag(), site));
    const scopes = [cluster.name, `-${site}`];
    const since = await mark();
    const ids: string[] = [];
    for (const kind of KINDS)
      for (const pathIncludes of scopes)
        ids.push(await admin().fault({ op: '*', kind, rate: RATE, pathIncludes, retryAfterSec: 1 }));
    try {
      for (const request of requests)
        made.push({ request, id: await lab.start(request), nodeResourceGroup: cluster.nodeResourceGroup });
      await expectAllComplete(
        lab,
        made.map((m) => m.id),
      );
    } finally {
      for (const id of ids) await admin().removeFault(id);
    }

    const ours = (await admin().requests(since)).filter((r) =>
      scopes.some((s) => r.path.toLowerCase().includes(s.toLowerCase())),
    );
    const faults = ours.filter((r) => r.fault);
    const share = faults.length / ours.length;
    console.log(
      `# chaos arm-faults: ${faults.length} of ${ours.length} calls faulted (${(share * 100).toFixed(0)} %): ${KINDS.map((k) => `${k} ${faults.filter((f) => f.fault === k).length}`).join(', ')}`,
    );
    assert.ok(faults.length > 0, 'faults were injected');
    const waits = faults.map((f) => {
      // The same call answered later; a write named anew on retry (a role assignment's GUID) by its operation.
      const ok = (r: (typeof ours)[number]) => r.seq > f.seq && r.status >= 200 && r.status < 300;
      const next = ours.find((r) => ok(r) && r.path === f.path) ?? ours.find((r) => ok(r) && r.op === f.op);
      assert.ok(next, `${f.op} answered 2xx again after the ${f.fault} on ${f.path}`);
      return next.at - f.at;
    });
    waits.sort((a, b) => a - b);
    reportRecovery(
      'arm-faults',
      waits[waits.length - 1]!,
      `median ${(waits[Math.floor(waits.length / 2)]! / 1000).toFixed(1)} s over ${waits.length} faults`,
    );
    await assertNothingTwice(lab, since, cluster, requests);
  },
);
