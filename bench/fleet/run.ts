/**
 * One fleet: seed its clusters in the fake, set the latency model, POST every binding through the REST API at
 * once, wait for every run to close (visibility count, then one listing), and gather the figures: wall time from
 * the first POST to the last close, the fake's request log, memory, the runs' histories and why runs failed.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Knobs } from '../../lab/azure/knobs.js';
import { azureLikeKnobs } from '../../lab/azure/latency-model.js';
import { PROVISION_WORKFLOW } from '../../workflows/definitions.js';
import { coordinatorFigures, type CoordinatorFigures } from './coordinators.js';
import { historyFigures, type HistoryFigures } from './history.js';
import { killEvery, type KillFigures } from './kills.js';
import type { FleetLab } from './lab.js';
import { namePrefix, type Fleet } from './requests.js';
import { Sampler, type ArmTally, type CpuUse } from './sampler.js';

const RESOURCE_GROUP = 'rg-gmsa-lab';
const LOCATION = 'westeurope';
/** POSTs in flight at once: enough to start 200 runs in a few seconds without queueing in the API. */
const POST_CONCURRENCY = 16;

export interface FleetFigures {
  fleet: Fleet;
  latency: number;
  ids: string[];
  completed: number;
  failed: number;
  /** Still running when the bench's time ran out. */
  open: number;
  /** First POST to the last run's close (undefined when none closed). */
  wallMs?: number;
  arm: ArmTally;
  history: HistoryFigures;
  /** The scale-set coordinators' part, from their histories within the fleet's window. */
  coordinators: CoordinatorFigures;
  /** Max resident memory per worker slot, and the API's, in bytes. */
  workerRss: number[];
  apiRss: number;
  cpu: CpuUse;
  /** Busy CPU seconds of the whole machine during the fleet (all cores, other work included). */
  machineBusy?: number;
  loadMax: number;
  /** Why runs failed (POST refusals included), names of the bench's objects elided, with counts. */
  failures: Array<[string, number]>;
  kills?: KillFigures;
  workerExits: string[];
}

/** `{azureLike: s}` expands to every operation's latency, so 0 also clears the per-operation entries. */
export const setLatency = (lab: FleetLab, scale: number, fixedLro = false) =>
  lab.admin.knobs({
    azureLike: scale,
    ...(fixedLro && scale > 0 && { lroMs: medianLros(scale) }),
  } as Partial<Knobs> & { azureLike: number });

/**
 * Every long-running operation of the latency model at its median instead of a draw. The fleet's wall is its
 * slowest binding's, and the draws have long tails (a gMSA enable's p95 is 3.3× its median, one vault create in
 * 200 takes ~90× the median): two fleets compared for what kills cost both take the medians, so the difference in
 * wall is the workers', not the draws'.
 */
export function medianLros(scale: number): Record<string, number> {
  const model = azureLikeKnobs(scale).lroMs ?? {};
  return Object.fromEntries(
    Object.entries(model).map(([op, d]) => [op, typeof d === 'number' ? d : Math.round(d.median)]),
  );
}

async function post(lab: FleetLab, body: unknown): Promise<{ id?: string; error?: string }> {
  const res = await fetch(`${lab.apiUrl}/v1/provisionings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${lab.tokens.operator}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status === 202) return { id: (JSON.parse(text) as { id: string }).id };
  return { error: `POST answered ${res.status}: ${text.slice(0, 300)}` };
}

interface Closed {
  status: string;
  closeMs?: number;
}

async function listRuns(client: Client, query: string): Promise<Map<string, Closed>> {
  const out = new Map<string, Closed>();
  for await (const w of client.workflow.list({ query })) {
    out.set(w.workflowId, { status: w.status.name, closeMs: w.closeTime?.getTime() });
  }
  return out;
}

/** Waits until every id has closed, or the deadline; returns what the listing says of each. */
async function waitClosed(client: Client, query: string, ids: string[], deadline: number) {
  for (;;) {
    const { count } = await client.workflow.count(`${query} AND ExecutionStatus = 'Running'`);
    if (count === 0 || Date.now() > deadline) {
      const runs = await listRuns(client, query);
      const open = ids.filter((id) => (runs.get(id)?.status ?? 'RUNNING') === 'RUNNING');
      if (open.length === 0 || Date.now() > deadline) return runs;
    }
    await delay(1000);
  }
}

/** The run's failure, decrypted by the client's codec: the step's message and its cause. */
async function failureOf(client: Client, id: string): Promise<string> {
  try {
    await client.workflow.getHandle(id).result();
    return 'closed without failure';
  } catch (err) {
    const chain: string[] = [];
    for (let e: unknown = (err as Error).cause ?? err; e instanceof Error && chain.length < 3; e = e.cause) {
      chain.push(e.message);
    }
    return chain.join(' ← ');
  }
}

export async function runFleet(
  lab: FleetLab,
  fleet: Fleet,
  o: {
    latency: number;
    killEveryMs: number;
    deadline: number;
    tag: string;
    say: (line: string) => void;
    /** Long-running operations take the model's median, not a draw (medianLros). */
    fixedLro?: boolean;
  },
): Promise<FleetFigures> {
  for (const name of fleet.clusters) await lab.admin.seedCluster({ name, resourceGroup: RESOURCE_GROUP });
  await setLatency(lab, o.latency, o.fixedLro);
  const workerExits: string[] = [];
  const sampler = new Sampler(
    lab,
    fleet.clusters.map((c) => `mc_${RESOURCE_GROUP}_${c}_${LOCATION}`.toLowerCase()),
    (slot, how) => {
      workerExits.push(`worker ${slot + 1}: ${how}`);
      o.say(`worker ${slot + 1} exited by itself (${how}); starting another`);
      void lab.replaceWorker(lab.workers[slot]!).catch((e: unknown) => o.say(`  restart failed: ${String(e)}`));
    },
  );
  await sampler.start();

  const t0 = Date.now();
  const ids: string[] = [];
  const refusals: string[] = [];
  const queue = [...fleet.requests];
  const poster = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      const answer = await post(lab, r).catch((e: unknown) => ({ id: undefined, error: `POST: ${String(e)}` }));
      if (answer.id) ids.push(answer.id);
      else refusals.push(answer.error ?? 'POST failed');
    }
  };
  await Promise.all(Array.from({ length: Math.min(POST_CONCURRENCY, queue.length) }, poster));
  const kills = o.killEveryMs > 0 ? killEvery(lab, o.killEveryMs) : undefined;

  const clusters = fleet.clusters.map((c) => `'${c.toLowerCase()}'`).join(', ');
  const query = `WorkflowType = '${PROVISION_WORKFLOW}' AND GmsaCluster IN (${clusters})`;
  const runs = await waitClosed(lab.temporal, query, ids, o.deadline);
  const killed = await kills?.stop();
  await sampler.stop();
  const cpu = sampler.cpuUse();

  const closeTimes = ids.map((id) => runs.get(id)?.closeMs).filter((t): t is number => t !== undefined);
  const status = (id: string) => runs.get(id)?.status ?? 'RUNNING';
  const failedIds = ids.filter((id) => !['COMPLETED', 'RUNNING'].includes(status(id)));
  const open = ids.filter((id) => status(id) === 'RUNNING').length;
  const elide = new RegExp(`${namePrefix(o.tag)}[-a-z0-9]*`, 'g');
  const reasons = new Map<string, number>();
  for (const reason of [...refusals, ...(await Promise.all(failedIds.map((id) => failureOf(lab.temporal, id))))]) {
    const key = reason.replace(elide, '…').slice(0, 400);
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  return {
    fleet,
    latency: o.latency,
    ids,
    completed: ids.filter((id) => status(id) === 'COMPLETED').length,
    failed: failedIds.length + refusals.length,
    open,
    wallMs: open === 0 && closeTimes.length ? Math.max(...closeTimes) - t0 : undefined,
    arm: sampler.arm,
    history: await historyFigures(lab.temporal, ids),
    coordinators: await coordinatorFigures(lab.temporal, t0, Math.max(t0, ...closeTimes)),
    workerRss: sampler.rssMax,
    apiRss: sampler.apiRssMax,
    cpu,
    machineBusy: sampler.machineBusy,
    loadMax: sampler.loadMax,
    failures: [...reasons.entries()].sort((a, b) => b[1] - a[1]),
    kills: killed,
    workerExits,
  };
}
