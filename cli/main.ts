/**
 * The aks-gmsa command line over the REST API (see ./usage.ts). Run as `npx aks-gmsa`, `npm run cli --`, or
 * `node --import tsx cli/main.ts`.
 */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { ApiClient } from './client.js';
import { resolveTarget, type Role, type Target } from './config.js';
import { exitCodeOf, UsageError } from './errors.js';
import type { OperationKind } from '../contract/operations.js';
import { accessView, errorLines, listTable, operationsTable, statusView, type RunView, type Style } from './render.js';
import { USAGE } from './usage.js';
import { watch } from './watch.js';

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  watch: { type: 'boolean' },
  comment: { type: 'string' },
  status: { type: 'string' },
  cluster: { type: 'string' },
  limit: { type: 'string' },
  interval: { type: 'string' },
  'disable-gmsa': { type: 'boolean' },
  mode: { type: 'string' },
  timeout: { type: 'string' },
  binding: { type: 'string' },
  kind: { type: 'string' },
  all: { type: 'boolean' },
} as const;
type Flags = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

interface Command {
  role: Role;
  /** Positional arguments after the command's name. */
  args: string[];
  /** Options beyond --url, --token and --help. */
  options: (keyof Flags)[];
  run(client: ApiClient, args: string[], flags: Flags): Promise<number>;
}

const out = (lines: string | string[]) => process.stdout.write(`${([] as string[]).concat(lines).join('\n')}\n`);
const json = (value: unknown) => out(JSON.stringify(value, null, 2));
const style = (): Style => ({ color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR });

/** A list's first page, or with --all every page, following the API's nextPageToken. */
async function pages<T>(
  all: boolean | undefined,
  page: (pageToken?: string) => Promise<{ items: T[]; nextPageToken?: string }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const p = await page(token);
    items.push(...p.items);
    token = all ? p.nextPageToken : undefined;
  } while (token);
  return items;
}

/** Follows a provisioning, or with `read` an operation, to its end: exit 0 when it COMPLETED. */
async function follow(
  client: ApiClient,
  id: string,
  flags: Flags,
  read?: (id: string) => Promise<RunView>,
): Promise<number> {
  const seconds = flags.interval === undefined ? 1 : Number(flags.interval);
  if (!(seconds >= 0.05 && seconds <= 3600)) throw new UsageError('--interval is seconds, from 0.05 to 3600');
  const final = await watch(client, id, {
    read,
    intervalMs: seconds * 1000,
    out: process.stdout,
    redraw: Boolean(process.stdout.isTTY) && process.env.TERM !== 'dumb',
    style: style(),
    columns: () => process.stdout.columns,
  });
  return final.status === 'COMPLETED' ? 0 : 1;
}

async function readRequest(file: string): Promise<unknown> {
  let raw: string;
  try {
    raw = file === '-' ? await text(process.stdin) : await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    // PowerShell writes its params files with a byte-order mark.
    return JSON.parse(raw.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UsageError(`${file === '-' ? 'stdin' : file} is not JSON: ${(err as Error).message}`);
  }
}

function watchFlags(flags: Flags): void {
  if (flags.json && flags.watch) throw new UsageError('--json and --watch do not go together');
  if (flags.interval !== undefined && !flags.watch) throw new UsageError('--interval goes with --watch');
}

/** A command that starts a day-2 operation on a binding, printing its id (or following it with --watch). */
function operationCommand(kind: OperationKind, options: (keyof Flags)[], body: (flags: Flags) => object): Command {
  return {
    role: 'operator',
    args: ['id'],
    options: [...options, 'json', 'watch', 'interval'],
    async run(client, [id], flags) {
      watchFlags(flags);
      const accepted = await client.startOperation(id!, kind, body(flags));
      if (flags.json) {
        json(accepted);
        return 0;
      }
      out([
        `started ${kind} ${accepted.operationId}`,
        `  watch:       aks-gmsa operation ${accepted.operationId} --watch`,
        `  Temporal UI: ${accepted.links.temporalUi}`,
      ]);
      return flags.watch ? follow(client, accepted.operationId, flags, (i) => client.getOperation(i)) : 0;
    },
  };
}

function validateBody(flags: Flags): object {
  const mode = flags.mode ?? 'chain';
  if (mode !== 'chain' && mode !== 'pod') throw new UsageError('--mode is chain or pod');
  if (flags.timeout === undefined) return { mode };
  const timeoutSeconds = Number(flags.timeout);
  if (!Number.isInteger(timeoutSeconds)) throw new UsageError('--timeout is whole seconds');
  return { mode, timeoutSeconds };
}

const COMMANDS: Record<string, Command> = {
  start: {
    role: 'operator',
    args: ['file.json | -'],
    options: ['json', 'watch', 'interval'],
    async run(client, [file], flags) {
      watchFlags(flags);
      const accepted = await client.start(await readRequest(file!));
      if (flags.json) {
        json(accepted);
        return 0;
      }
      out([
        `started ${accepted.id}`,
        `  watch:       aks-gmsa watch ${accepted.id}`,
        `  Temporal UI: ${accepted.links.temporalUi}`,
      ]);
      return flags.watch ? follow(client, accepted.id, flags) : 0;
    },
  },
  status: {
    role: 'viewer',
    args: ['id'],
    options: ['json'],
    async run(client, [id], flags) {
      const view = await client.get(id!);
      if (flags.json) json(view);
      else out(statusView(view, style()));
      return 0;
    },
  },
  watch: {
    role: 'viewer',
    args: ['id'],
    options: ['interval'],
    run: (client, [id], flags) => follow(client, id!, flags),
  },
  approve: {
    role: 'approver',
    args: ['id'],
    options: ['comment'],
    async run(client, [id], flags) {
      await client.approve(id!, flags.comment);
      out(`approved the AD step of ${id}`);
      return 0;
    },
  },
  cancel: {
    role: 'operator',
    args: ['id'],
    options: [],
    async run(client, [id]) {
      await client.cancel(id!);
      out(`cancel requested for ${id}`);
      return 0;
    },
  },
  list: {
    role: 'viewer',
    args: [],
    options: ['json', 'status', 'cluster', 'limit', 'all'],
    async run(client, _args, flags) {
      const items = await pages(flags.all, (pageToken) =>
        client.list({ status: flags.status?.toUpperCase(), cluster: flags.cluster, limit: flags.limit, pageToken }),
      );
      if (flags.json) json({ items });
      else out(listTable(items, style()));
      return 0;
    },
  },
  deprovision: operationCommand('deprovision', ['disable-gmsa'], (f) =>
    f['disable-gmsa'] ? { disableGmsa: true } : {},
  ),
  rotate: operationCommand('rotate-password', [], () => ({})),
  repair: operationCommand('repair', [], () => ({})),
  validate: operationCommand('validate', ['mode', 'timeout'], validateBody),
  operation: {
    role: 'viewer',
    args: ['operationId'],
    options: ['json', 'watch', 'interval'],
    async run(client, [id], flags) {
      watchFlags(flags);
      if (flags.watch) return follow(client, id!, flags, (i) => client.getOperation(i));
      const view = await client.getOperation(id!);
      if (flags.json) json(view);
      else out(statusView(view, style()));
      return 0;
    },
  },
  operations: {
    role: 'viewer',
    args: [],
    options: ['json', 'binding', 'kind', 'status', 'limit', 'all'],
    async run(client, _args, flags) {
      const items = await pages(flags.all, (pageToken) =>
        client.listOperations({
          binding: flags.binding,
          kind: flags.kind,
          status: flags.status?.toUpperCase(),
          limit: flags.limit,
          pageToken,
        }),
      );
      if (flags.json) json({ items });
      else out(operationsTable(items, style()));
      return 0;
    },
  },
  access: {
    role: 'viewer',
    args: ['id'],
    options: ['json'],
    async run(client, [id], flags) {
      const report = await client.access(id!);
      if (flags.json) json(report);
      else out(accessView(report, style()));
      return 0;
    },
  },
  sample: {
    role: 'viewer',
    args: ['id'],
    options: ['json'],
    async run(client, [id], flags) {
      const sample = await client.sampleWorkload(id!);
      // The YAML as it is, so `aks-gmsa sample <id> | kubectl apply -f -` works.
      if (flags.json) json(sample);
      else process.stdout.write(sample.yaml.endsWith('\n') ? sample.yaml : `${sample.yaml}\n`);
      return 0;
    },
  },
};

export async function main(argv: string[]): Promise<number> {
  let target: Target | undefined;
  try {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const flags = parsed.values as Flags;
    const [name, ...args] = parsed.positionals;
    if (name === 'help' || flags.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (name === undefined) {
      process.stderr.write(USAGE);
      return 2;
    }
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command ${name}; try aks-gmsa help`);
    const usage = `usage: aks-gmsa ${name}${command.args.map((a) => ` <${a}>`).join('')}`;
    if (args.length !== command.args.length) throw new UsageError(usage);
    for (const key of Object.keys(flags) as (keyof Flags)[]) {
      if (key !== 'url' && key !== 'token' && !command.options.includes(key))
        throw new UsageError(`${name} takes no --${key}; ${usage}`);
    }
    target = resolveTarget(flags, command.role);
    return await command.run(new ApiClient(target), args, flags);
  } catch (err) {
    process.stderr.write(`${errorLines(err, target?.tokenSource).join('\n')}\n`);
    return exitCodeOf(err);
  }
}

// `aks-gmsa watch … | head` closes the pipe early: that ends the command, it is not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await main(process.argv.slice(2));
