/**
 * The bench's polling clients, a process of their own: in the API's process they would take its CPU and be counted
 * in its latency. Each client is one keep-alive connection calling in a loop (closed loop, as `watch` and
 * dashboards do), over plain node:http, which costs a client far less than fetch.
 *
 * Told what to do over IPC (a Phase), it answers with the latency of every call in ms.
 */
import http from 'node:http';

export interface Phase {
  url: string;
  token: string;
  clients: number;
  seconds: number;
  /** `get`: each call reads one of `paths` at random. `list`: each client pages through `paths[0]`. */
  mode: 'get' | 'list';
  paths: string[];
}

export interface PhaseResult {
  /** Latencies in ms, by the index of the path read (the list's under 0). */
  byPath: number[][];
  errors: number;
}

function call(agent: http.Agent, url: URL, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`${url.pathname} answered ${res.statusCode}: ${body}`));
        else resolve(body);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The page's nextPageToken without parsing the page: a page is tens of kB, and parsing thousands a second would
 * make this process, not the API, what the figures measure. The token comes after the items (api/schemas.ts).
 */
function nextPageToken(body: string): string | undefined {
  const at = body.lastIndexOf('"nextPageToken":"');
  if (at < 0) return undefined;
  const start = at + '"nextPageToken":"'.length;
  return body.slice(start, body.indexOf('"', start));
}

async function run(p: Phase): Promise<PhaseResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: p.clients });
  const byPath = p.paths.map(() => [] as number[]);
  let errors = 0;
  const until = performance.now() + p.seconds * 1000;
  await Promise.all(
    Array.from({ length: p.clients }, async () => {
      let token: string | undefined;
      while (performance.now() < until) {
        const i = p.mode === 'get' ? Math.floor(Math.random() * p.paths.length) : 0;
        const target = new URL(p.paths[i]!, p.url);
        if (token) target.searchParams.set('pageToken', token);
        const t0 = performance.now();
        try {
          const body = await call(agent, target, p.token);
          byPath[i]!.push(performance.now() - t0);
          if (p.mode === 'list') token = nextPageToken(body);
        } catch {
          errors++;
        }
      }
    }),
  );
  agent.destroy();
  return { byPath, errors };
}

process.on('message', (p: Phase) => {
  run(p).then(
    (r) => process.send!(r),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
process.on('disconnect', () => process.exit(0));
