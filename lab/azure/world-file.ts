/**
 * The Azure fake's world kept in a file, so that a restart of `npm start` finds the same Azure as Temporal, Samba
 * and Kubernetes do (their state lives under .lab too): resources, vaults and their secrets, soft-deleted vaults,
 * the directory's principals and the app registrations with their secrets. Written after changes, at most every
 * `debounceMs`, only when the text differs, atomically (a temporary file renamed over the old one), so a crash
 * leaves the last whole world. Tests keep the world in memory unless they pass a file.
 *
 * Long operations are data here except their closures: at a graceful stop the fake finishes every running one
 * before the last write (server.ts), so none is lost; after a crash, one still InProgress is read back as Failed
 * with a retryable error and its resource's provisioningState `Failed`, as ARM reports an operation that broke.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { World } from './world.js';

const VERSION = 1;

export interface SavedWorld {
  world: World;
  /** The ARM listener's port when it was saved: a restart takes it again when free, so URLs handed out stay valid. */
  armPort?: number;
}

/** JSON with Maps and Sets tagged, functions (operation closures) dropped. */
export function worldToJson(world: World, armPort?: number): string {
  return JSON.stringify({ version: VERSION, armPort, world }, (_k, v: unknown) => {
    if (v instanceof Map) return { $map: [...v.entries()] };
    if (v instanceof Set) return { $set: [...v.values()] };
    return v;
  });
}

const TRANSITIONAL = new Set(['Creating', 'Updating', 'Deleting', 'Accepted', 'RegisteringDns', 'Scaling']);

export function worldFromJson(text: string): SavedWorld {
  const parsed = JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && '$map' in v) return new Map((v as { $map: [unknown, unknown][] }).$map);
    if (v && typeof v === 'object' && '$set' in v) return new Set((v as { $set: unknown[] }).$set);
    return v;
  }) as { version: number; armPort?: number; world: World };
  if (parsed.version !== VERSION) throw new Error(`world file version ${parsed.version}, expected ${VERSION}`);
  const { world } = parsed;
  let lost = 0;
  for (const operation of world.operations.values()) {
    if (operation.status !== 'InProgress') continue;
    lost += 1;
    operation.status = 'Failed';
    operation.error = {
      code: 'InternalOperationError',
      message: 'The operation was interrupted when the lab Azure fake stopped. Please retry the request.',
    };
  }
  if (lost > 0) {
    for (const resource of world.resources.values()) {
      const props = resource.properties as
        { provisioningState?: string; agentPoolProfiles?: { provisioningState?: string }[] } | undefined;
      if (props?.provisioningState && TRANSITIONAL.has(props.provisioningState)) props.provisioningState = 'Failed';
      for (const pool of props?.agentPoolProfiles ?? [])
        if (pool.provisioningState && TRANSITIONAL.has(pool.provisioningState)) pool.provisioningState = 'Failed';
    }
  }
  return { world, armPort: parsed.armPort };
}

export interface WorldFile {
  readonly file: string;
  /** The saved world, or undefined when there is none yet. A file that cannot be read fails, naming it. */
  load(): SavedWorld | undefined;
  /** Something may have changed: a write within `debounceMs`. */
  changed(): void;
  /** Writes now (at a stop). */
  flush(): void;
}

export function worldFile(
  file: string,
  current: () => { world: World; armPort?: number },
  debounceMs = 250,
): WorldFile {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const write = () => {
    timer = undefined;
    const { world, armPort } = current();
    const text = worldToJson(world, armPort);
    if (text === last) return;
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, file);
      last = text;
    } catch (e) {
      rmSync(tmp, { force: true });
      console.error(`azure fake: could not write ${file}: ${(e as Error).message}`);
    }
  };
  return {
    file,
    load() {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
      try {
        const saved = worldFromJson(text);
        last = text;
        return saved;
      } catch (e) {
        throw new Error(
          `azure fake: ${file} is not a world this fake wrote (${(e as Error).message}); move it away to start from the seed`,
        );
      }
    },
    changed() {
      timer ??= setTimeout(write, debounceMs);
    },
    flush() {
      if (timer) clearTimeout(timer);
      write();
    },
  };
}
