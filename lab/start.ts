/**
 * `npm start`: the whole product on its embedded defaults. Starts the lab parts (Temporal dev server, and the
 * stand-ins for AD, Azure and Kubernetes that exist), writes .lab/lab.env, runs the worker and the API, prints
 * where everything is. The worker and the API are supervised (restarted when they die). Ctrl-C stops everything
 * it started, by pid. Settings already in the environment
 * (TEMPORAL_ADDRESS, AD_URL, AZURE_*, KUBECONFIG) replace the matching lab part with the real thing.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KeyRing } from '../temporal/codec.js';
import { labParts } from './parts.js';
import { LAB_DIR, LAB_ENV_FILE, labPath, PROJECT_ROOT } from './paths.js';
import type { LabPart } from './part.js';
import { waitUntil } from './process.js';
import { supervise, type Supervised } from './supervise.js';
import { temporalLab } from './temporal.js';
import { parseTokenSpec } from '../config/api-tokens.js';
import { APPROVAL_KEY_FILE_VARIABLE, APPROVAL_KEY_VARIABLE, generateApprovalKey } from '../config/approval-key.js';

const API_PORT = Number(process.env.GMSA_API_PORT ?? 3000);
const API_URL = `http://127.0.0.1:${API_PORT}`;
/** Where the lab's worker serves the SDK's Prometheus metrics (GMSA_WORKER_METRICS_ADDRESS). */
const WORKER_METRICS_ADDRESS = process.env.GMSA_WORKER_METRICS_ADDRESS ?? '127.0.0.1:9464';

/** Lab tokens: made once, kept in .lab so scripts and people can reuse them across restarts. */
function labTokens(): string {
  const file = labPath('api-tokens');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const t = () => randomBytes(18).toString('base64url');
  const spec = `viewer:viewer:${t()},operator:operator:${t()},approver:ad-operator:${t()}`;
  writeFileSync(file, `${spec}\n`, { mode: 0o600 });
  return spec;
}

/** The lab's payload key ring: made once, kept in .lab; rotate by appending a line (the last key encrypts). */
function labKeyRingFile(): string {
  const file = labPath('codec-keys');
  if (!existsSync(file)) writeFileSync(file, `${KeyRing.generateEntry('lab-1')}\n`, { mode: 0o600 });
  return file;
}

/** The lab's approval key, shared by its API (signs) and worker (checks): made once, kept in .lab. */
function labApprovalKeyFile(): string {
  const file = labPath('approval-key');
  if (!existsSync(file)) writeFileSync(file, `${generateApprovalKey()}\n`, { mode: 0o600 });
  return file;
}

function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/**
 * The worker and the API run supervised: one that dies (a crash, a kill -9) is started again with a backoff and a
 * line saying so, and the rest of the lab stays up; only one that keeps dying stops the lab.
 */
function run(name: string, script: string, env: NodeJS.ProcessEnv): Supervised {
  return supervise(
    name,
    () =>
      spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, script)], {
        cwd: PROJECT_ROOT,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      }),
    {
      onGiveUp: (why) => {
        console.error(`${why}; stopping the lab`);
        void stop(1);
      },
    },
  );
}

let stopping = false;
const started: LabPart[] = [];
const children: Supervised[] = [];

async function stop(code: number): Promise<void> {
  // Ctrl-C reaches this process twice (from the terminal and relayed by tsx): stop once, ignore the rest.
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await Promise.all(children.map((c) => c.stop()));
  for (const part of started.reverse()) {
    await part.stop().catch((e: unknown) => console.error(`stopping ${part.name}: ${(e as Error).message}`));
    console.log(`stopped ${part.name}`);
  }
  process.exit(code);
}

async function main(): Promise<void> {
  mkdirSync(LAB_DIR, { recursive: true });
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const settings: Record<string, string> = {};
  const t0 = Date.now();
  const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
  const start = async (part: LabPart) => {
    const t1 = Date.now();
    // One that was up already (another lab, a test run) is used and left running at Ctrl-C: only what this started stops.
    const reused = part.running();
    console.log(`starting ${part.name}…`);
    Object.assign(settings, await part.start(settings));
    // The Azure fake is npm start's own: one that kept no world was replaced by one that does, stopped at Ctrl-C.
    if (!reused || part.name === 'azure') started.push(part);
    console.log(`${part.name} ${reused ? 'reused' : 'ready'} (${since(t1)})`);
  };
  /**
   * A part that can be slow (the Kubernetes peer's first build) writes its settings up front and joins when it is
   * up, with a progress line meanwhile; what needs it retries until then. One that cannot start stops the lab.
   */
  const startInBackground = async (part: LabPart, prepare: () => Promise<Record<string, string>>) => {
    const reused = part.running();
    Object.assign(settings, await prepare());
    if (!reused) started.push(part); // stopped by pid on Ctrl-C, whatever it got to
    const t1 = Date.now();
    console.log(`starting ${part.name} in the background (its steps wait for it)…`);
    const progress = setInterval(() => console.log(`${part.name}: still starting (${since(t1)})`), 30_000);
    const done = part.start(settings).then(
      () => {
        console.log(`${part.name} joined (${since(t1)}; ${since(t0)} after npm start)`);
      },
      (e: unknown) => {
        console.error(`${part.name} could not start: ${(e as Error).message}`);
        void stop(1);
      },
    );
    coming.set(
      part.name,
      done.finally(() => clearInterval(progress)),
    );
    void done.finally(() => coming.delete(part.name));
  };
  const coming = new Map<string, Promise<void>>();

  if (process.env.TEMPORAL_ADDRESS) console.log(`Temporal: using ${process.env.TEMPORAL_ADDRESS}`);
  else await start(temporalLab({ codecEndpoint: `${API_URL}/codec` }));
  for (const { part, replacedBy } of labParts({ keepAzureWorld: true })) {
    if (replacedBy.some((v) => process.env[v]))
      console.log(`${part.name}: using ${replacedBy.find((v) => process.env[v])} from the environment`);
    else if (part.prepare) await startInBackground(part, () => part.prepare!());
    else await start(part);
  }

  settings.GMSA_API_TOKENS = process.env.GMSA_API_TOKENS ?? labTokens();
  if (!process.env.GMSA_CODEC_KEYS && !process.env.GMSA_CODEC_KEYS_FILE)
    settings.GMSA_CODEC_KEYS_FILE = labKeyRingFile();
  if (!process.env[APPROVAL_KEY_VARIABLE] && !process.env[APPROVAL_KEY_FILE_VARIABLE])
    settings[APPROVAL_KEY_FILE_VARIABLE] = labApprovalKeyFile();
  settings.GMSA_API_URL = API_URL;
  settings.GMSA_WORKER_METRICS_URL = `http://${WORKER_METRICS_ADDRESS}/metrics`;
  writeFileSync(
    LAB_ENV_FILE,
    Object.entries(settings)
      .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );

  const env = {
    ...process.env,
    ...settings,
    GMSA_API_PORT: String(API_PORT),
    GMSA_WORKER_METRICS_ADDRESS: WORKER_METRICS_ADDRESS,
  };
  children.push(run('worker', 'worker/main.ts', env));
  children.push(run('api', 'api/main.ts', env));
  await waitUntil('API', async () => (await fetch(`${API_URL}/readyz`)).ok, { timeoutMs: 60_000 });

  const tokens = Object.fromEntries(parseTokenSpec(settings.GMSA_API_TOKENS).map((e) => [e.role, e.token]));
  const ui = settings.TEMPORAL_UI_URL ?? process.env.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233';
  console.log(`
aks-gmsa is running.
  API          ${API_URL}   (OpenAPI: ${API_URL}/docs)
  Temporal UI  ${ui}   (to decode payloads: sign in at ${API_URL}/codec/login, README "Secrets")
  metrics      ${settings.GMSA_WORKER_METRICS_URL}   (the worker's)
  settings     ${path.relative(PROJECT_ROOT, LAB_ENV_FILE)}   (source it in a shell)
  tokens       operator ${tokens.operator}
               approver ${tokens.approver}
               viewer   ${tokens.viewer}

Try it:
  npx aks-gmsa start examples/lab-request.json --watch
or with curl:
  curl -s -X POST ${API_URL}/v1/provisionings -H 'authorization: Bearer ${tokens.operator}' \\
       -H 'content-type: application/json' --data @examples/lab-request.json
  curl -s ${API_URL}/v1/provisionings -H 'authorization: Bearer ${tokens.viewer}'

Ctrl-C stops everything.`);
  console.log(`ready in ${since(t0)}`);
  if (coming.size) console.log(`still coming: ${[...coming.keys()].join(', ')} (a line says when it joins)`);
}

main().catch(async (err: unknown) => {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  await stop(1);
});
