/**
 * A page of runs newest first by start time, and a page token that lists every run exactly once, also while runs
 * start and close between page reads. SQL visibility (SQLite, PostgreSQL, MySQL) refuses ORDER BY and answers in
 * its own order, `coalesce(CloseTime, ∞) DESC, StartTime DESC` (Elasticsearch's default is the same), so the
 * server's order alone is not newest first: a run that started long ago and closed a second ago comes first.
 *
 * What is correct on that order: the token is a cursor, the start time and run id of the page's last run, and the
 * next page is what started before it (StartTime <= cursor in the query, ties by run id here). Running runs come
 * out newest first already, so `limit + 1` of them are enough. Closed runs come out by close time, and a run never
 * closes before it starts: once the stream's close time falls below the start time of the page's last candidate,
 * no later row can start after it, and the read stops. A row out of that order (a store that sorts otherwise)
 * turns the early stop off for the read, so the answer stays right, only slower.
 */
import { Client, type WorkflowExecutionInfo } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { InvalidRequest } from './errors.js';

export interface PageRequest {
  /** Visibility clauses of the filter, without the status (it is `status`). */
  clauses: string[];
  /** Visibility's name of the status filtered by, if any (`Running`, `Completed`…). */
  status?: string;
  limit: number;
  pageToken?: string;
  /** Runs the caller does not list (not counted towards the page). */
  keep?: (run: WorkflowExecutionInfo) => boolean;
}

export interface Page {
  runs: WorkflowExecutionInfo[];
  nextPageToken?: string;
}

interface Cursor {
  /** RFC 3339 with nanoseconds: visibility's full precision (a Date keeps only milliseconds). */
  start: string;
  runId: string;
}

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

/** A timestamp as RFC 3339 with all nine digits of its nanoseconds: sorts as a string. */
export function nanoTime(t: Timestamp): string {
  const seconds = Number(t?.seconds ?? 0);
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${iso}.${String(t?.nanos ?? 0).padStart(9, '0')}Z`;
}

const startOf = (w: WorkflowExecutionInfo) => nanoTime(w.raw.startTime);
/** A running run has no close time: it sorts before every closed one, as visibility's coalesce does. */
const MAX_TIME = '9999-12-31T23:59:59.999999999Z';
const closeOf = (w: WorkflowExecutionInfo) => (w.raw.closeTime ? nanoTime(w.raw.closeTime) : MAX_TIME);

/** Newest first: start time descending, then run id ascending (a total order: ties cannot repeat or vanish). */
const before = (a: { start: string; runId: string }, b: { start: string; runId: string }) =>
  a.start > b.start || (a.start === b.start && a.runId < b.runId);
const keyOf = (w: WorkflowExecutionInfo) => ({ start: startOf(w), runId: w.runId });

const TOKEN_START = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;
const TOKEN_RUN_ID = /^[0-9a-zA-Z-]{1,64}$/;

function encodeToken(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.start, c.runId])).toString('base64url');
}

function decodeToken(token: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  // The start goes into a visibility query: only the exact shape this API writes is accepted.
  if (!Array.isArray(parsed) || !TOKEN_START.test(String(parsed[0])) || !TOKEN_RUN_ID.test(String(parsed[1]))) {
    throw new InvalidRequest('the page token is not valid', [
      { field: '/querystring/pageToken', message: 'is not a page token this API gave: list again from the start' },
    ]);
  }
  return { start: String(parsed[0]), runId: String(parsed[1]) };
}

/**
 * The SDK's list decodes every row's memo with the client's codec, and a row needs none: that is an AES decryption
 * per row for nothing, and one row whose memo this key ring cannot open (written with a key since dropped, or by
 * another deployment's ring in a shared namespace) would fail the whole list. The list reads through a client whose
 * codec turns every payload into null instead.
 */
const NO_PAYLOADS: PayloadCodec = {
  encode: async (payloads: Payload[]) => payloads,
  decode: async (payloads: Payload[]) =>
    payloads.map(() => ({ metadata: { encoding: new TextEncoder().encode('binary/null') } })),
};
const listers = new WeakMap<Client, Client>();
function lister(client: Client): Client {
  let l = listers.get(client);
  if (!l) {
    l = new Client({
      connection: client.connection,
      namespace: client.options.namespace,
      dataConverter: { payloadCodecs: [NO_PAYLOADS] },
    });
    listers.set(client, l);
  }
  return l;
}

/** Reads one page: the `limit` newest runs after the token's cursor, and a token for the next page if any. */
export async function newestFirst(withCodec: Client, req: PageRequest): Promise<Page> {
  const client = lister(withCodec);
  const cursor = req.pageToken ? decodeToken(req.pageToken) : undefined;
  const want = req.limit + 1; // one more than the page: whether there is a next page
  const keep = req.keep ?? (() => true);
  const after = (w: WorkflowExecutionInfo) => !cursor || before(cursor, keyOf(w));
  const base = [...req.clauses, ...(cursor ? [`StartTime <= '${cursor.start}'`] : [])];
  const top: WorkflowExecutionInfo[] = [];
  const seen = new Set<string>();
  const add = (w: WorkflowExecutionInfo) => {
    if (seen.has(w.runId) || !after(w) || !keep(w)) return;
    seen.add(w.runId);
    const k = keyOf(w);
    const at = top.findIndex((t) => before(k, keyOf(t)));
    if (at === -1) top.push(w);
    else top.splice(at, 0, w);
    if (top.length > want) top.pop();
  };
  const query = (status: string) => [...base, status].join(' AND ');

  // Running first, then closed: a run that closes between the two reads is then in one of them at least (and
  // counted once), where the other order could miss it.
  if (req.status === undefined || req.status === 'Running') {
    let last: string | undefined;
    let ordered = true;
    for await (const w of client.workflow.list({ query: query(`ExecutionStatus = 'Running'`), pageSize: want })) {
      const start = startOf(w);
      if (last !== undefined && start > last) ordered = false;
      last = start;
      add(w);
      if (ordered && top.length >= want && before(keyOf(top[top.length - 1]!), keyOf(w))) break;
    }
  }
  if (req.status !== 'Running') {
    const status = req.status ? `ExecutionStatus = '${req.status}'` : `ExecutionStatus != 'Running'`;
    let last: string | undefined;
    let ordered = true;
    for await (const w of client.workflow.list({ query: query(status), pageSize: Math.min(1000, 2 * want) })) {
      const close = closeOf(w);
      if (last !== undefined && close > last) ordered = false;
      last = close;
      add(w);
      // Every later row closed at or before `close`, so started before it: none can enter a full page.
      if (ordered && top.length >= want && close < startOf(top[top.length - 1]!)) break;
    }
  }

  const runs = top.slice(0, req.limit);
  const lastRun = runs[runs.length - 1];
  return {
    runs,
    nextPageToken: top.length > req.limit && lastRun ? encodeToken(keyOf(lastRun)) : undefined,
  };
}
