/**
 * What the bench watches while a fleet runs, once a second: each worker's and the API's resident memory (the
 * maximum seen per worker slot, across restarts), the CPU time of the bench's processes and of the whole machine,
 * the load average, and the Azure fake's request log from a mark onwards (the fake keeps its last 5000 requests,
 * so it is read as it goes; a gap, should one appear, is reported).
 */
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { LoggedRequest } from '../../lab/azure/admin.js';
import type { FleetLab } from './lab.js';
import { cpuSecondsOf, machineBusySeconds } from './product.js';

export interface ArmTally {
  requests: number;
  /** `PATCH virtualMachineScaleSets` on the fleet's node resource groups, and how many of them were refused 409. */
  patches: number;
  patchesRefused: number;
  /** Every 409 the fake answered (another operation in progress, and conflicts of any kind), by operation name. */
  conflictsByOp: Record<string, number>;
  throttled: number;
  /** The log moved past the last read (more than 5000 requests in a second): the counts are lower bounds. */
  gap: boolean;
}

/** CPU seconds per part of the bench's world, used while the fleet ran. */
export type CpuUse = Record<'workers' | 'api' | 'temporal' | 'azure fake' | 'bench', number>;

export class Sampler {
  readonly rssMax: number[];
  apiRssMax = 0;
  /** The highest 1-minute load average seen: other work on the machine shows here. */
  loadMax = 0;
  /** Per pid: its CPU seconds when first seen (0 for one started during the fleet) and when last seen. */
  private readonly cpu = new Map<number, { part: Exclude<keyof CpuUse, 'bench'>; first: number; last: number }>();
  private started = false;
  private readonly benchCpu = process.cpuUsage();
  private readonly machineAtStart = machineBusySeconds();
  /** Busy CPU seconds of the whole machine while the fleet ran: what other work took shows here. */
  machineBusy?: number;
  readonly arm: ArmTally = {
    requests: 0,
    patches: 0,
    patchesRefused: 0,
    conflictsByOp: {},
    throttled: 0,
    gap: false,
  };
  private last = 0;
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private readonly lab: FleetLab,
    private readonly nodeResourceGroups: string[],
    private readonly onWorkerExit: (slot: number, how: string) => void,
  ) {
    this.rssMax = lab.workers.map(() => 0);
  }

  async start(): Promise<void> {
    this.last = await this.lab.admin.mark();
    this.sampleCpu();
    this.started = true;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.sample();
        await delay(1000);
      }
    })();
  }

  /** Stops sampling after one last read of memory and the log. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.sample();
    const now = machineBusySeconds();
    if (now !== undefined && this.machineAtStart !== undefined) this.machineBusy = now - this.machineAtStart;
  }

  cpuUse(): CpuUse {
    const bench = process.cpuUsage(this.benchCpu);
    const use: CpuUse = { workers: 0, api: 0, temporal: 0, 'azure fake': 0, bench: (bench.user + bench.system) / 1e6 };
    for (const c of this.cpu.values()) use[c.part] += c.last - c.first;
    return use;
  }

  private sampleCpu(): void {
    const parts: Array<[Exclude<keyof CpuUse, 'bench'>, number | undefined]> = [
      ...this.lab.workers.map((w) => ['workers', w.process.pid] as ['workers', number | undefined]),
      ['api', this.lab.api.pid],
      ['temporal', this.lab.temporalPid()],
      ['azure fake', this.lab.azurePid()],
    ];
    for (const [part, pid] of parts) {
      const now = cpuSecondsOf(pid);
      if (pid === undefined || now === undefined) continue;
      const seen = this.cpu.get(pid);
      if (seen) seen.last = now;
      else this.cpu.set(pid, { part, first: this.started ? 0 : now, last: now });
    }
  }

  private async sample(): Promise<void> {
    this.sampleCpu();
    this.loadMax = Math.max(this.loadMax, os.loadavg()[0] ?? 0);
    for (const w of this.lab.workers) {
      const rss = w.process.rss();
      if (rss !== undefined) this.rssMax[w.index] = Math.max(this.rssMax[w.index] ?? 0, rss);
      if (w.process.unexpectedExit) {
        this.onWorkerExit(w.index, w.process.unexpectedExit);
        w.process.unexpectedExit = undefined;
      }
    }
    this.apiRssMax = Math.max(this.apiRssMax, this.lab.api.rss() ?? 0);
    const entries = await this.lab.admin.requests(this.last).catch(() => [] as LoggedRequest[]);
    this.tally(entries);
  }

  private tally(entries: LoggedRequest[]): void {
    if (entries.length && (entries[0] as LoggedRequest).seq > this.last + 1) this.arm.gap = true;
    for (const r of entries) {
      this.last = Math.max(this.last, r.seq);
      this.arm.requests += 1;
      if (r.status === 409) this.arm.conflictsByOp[r.op] = (this.arm.conflictsByOp[r.op] ?? 0) + 1;
      if (r.status === 429) this.arm.throttled += 1;
      const lower = r.path.toLowerCase();
      if (r.op === 'PATCH virtualMachineScaleSets' && this.nodeResourceGroups.some((g) => lower.includes(g))) {
        this.arm.patches += 1;
        if (r.status === 409) this.arm.patchesRefused += 1;
      }
    }
  }
}
