/**
 * `watch`: polls a provisioning until it ends. On a terminal the status view is redrawn in place; anywhere else
 * (a pipe, a CI log) each change is one line, so the output reads as a log.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import type { ApiClient } from './client.js';
import { ApiError, Unreachable } from './errors.js';
import { errorLines, formatTime, stepChangeLine, statusView, type RunView, type Style } from './render.js';

export interface WatchOptions {
  intervalMs: number;
  out: Writable;
  /** Redraw in place (a terminal) rather than a line per change. */
  redraw: boolean;
  style: Style;
  /** Terminal width, read again for every frame so a resize takes effect. */
  columns?: () => number | undefined;
  /** What to follow; default the provisioning `id` (an operation: `client.getOperation`). */
  read?: (id: string) => Promise<RunView>;
}

/** An API restart or a proxy hiccup should not end a watch that may last hours; this long without an answer does. */
const GIVE_UP_MS = 120_000;

const transient = (err: unknown) =>
  err instanceof Unreachable || (err instanceof ApiError && (err.status >= 500 || err.status === 429));

/** Follows the provisioning (or operation) until it is no longer RUNNING and returns its last view. */
export async function watch(client: ApiClient, id: string, o: WatchOptions): Promise<RunView> {
  const read = o.read ?? ((i: string) => client.get(i));
  const show = o.redraw ? frames(o) : changeLines(o);
  let answered = false;
  let failingSince: number | undefined;
  let trouble: string | undefined;
  for (;;) {
    let view: RunView;
    try {
      view = await read(id);
      answered = true;
      failingSince = undefined;
      trouble = undefined;
    } catch (err) {
      // An API that never answered is more likely a wrong URL than a restart: say so at once.
      if (!answered || !transient(err)) throw err;
      failingSince ??= Date.now();
      if (Date.now() - failingSince > GIVE_UP_MS) throw err;
      const message = `${errorLines(err)[0]!.replace(/^error: /, '')}; retrying`;
      if (message !== trouble) show.trouble((trouble = message));
      await delay(o.intervalMs);
      continue;
    }
    show.view(view);
    if (view.status !== 'RUNNING') return view;
    await delay(o.intervalMs);
  }
}

interface Display {
  view(v: RunView): void;
  trouble(message: string): void;
}

function frames(o: WatchOptions): Display {
  let height = 0;
  let last: RunView | undefined;
  const draw = (lines: string[]) => {
    // Back to the first line of the previous frame, clear to the end of the screen, draw again.
    o.out.write(`${height ? `\x1b[${height}F\x1b[J` : ''}${lines.join('\n')}\n`);
    height = lines.length;
  };
  const style = () => {
    const cols = o.columns?.();
    return cols ? { ...o.style, width: cols - 1 } : o.style;
  };
  return {
    view(v) {
      last = v;
      draw(statusView(v, style()));
    },
    trouble(message) {
      draw([...(last ? statusView(last, style()) : []), `${formatTime(new Date().toISOString())}  ${message}`]);
    },
  };
}

function changeLines(o: WatchOptions): Display {
  const seen = new Map<string, string>();
  let phase: string | undefined;
  let approved = false;
  let first = true;
  const line = (text: string) => o.out.write(`${formatTime(new Date().toISOString())}  ${text}\n`);
  return {
    view(v) {
      if (first) {
        line(`watching ${v.id}  (Temporal UI: ${v.links.temporalUi})`);
        first = false;
      }
      if (v.phase !== phase) line(`phase: ${(phase = v.phase)}`);
      for (const s of v.steps) {
        const key = JSON.stringify([s.status, s.attempts, s.lastError?.message, s.waitUntil, s.summary]);
        if (seen.get(s.name) === key) continue;
        seen.set(s.name, key);
        line(stepChangeLine(s));
      }
      const approval = 'approval' in v ? v.approval : undefined;
      if (approval && !approved) {
        approved = true;
        line(`approved by ${approval.by}${approval.comment ? `: ${JSON.stringify(approval.comment)}` : ''}`);
      }
      if (v.status !== 'RUNNING') {
        line(`${v.id} ${v.status}`);
        if (v.error) line(`error: ${v.error}`);
      }
    },
    trouble(message) {
      line(message);
    },
  };
}
