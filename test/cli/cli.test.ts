/**
 * The CLI as a user runs it: a child process (`node --import tsx cli/main.ts …`) against the real API listening on
 * loopback, with the real Temporal dev server behind it and a worker over activity doubles. Every run also checks
 * that no token appears in what the CLI printed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../api/app.js';
import { TokenTable } from '../../api/auth.js';
import { ProvisioningService } from '../../api/provisioning-service.js';
import { ApiClient } from '../../cli/client.js';
import { accessView } from '../../cli/render.js';
import { watch } from '../../cli/watch.js';
import { accessReport } from '../../domain/access-report.js';
import { PROJECT_ROOT } from '../../lab/paths.js';
import { freePort } from '../../lab/process.js';
import { examplePowerShellParams, exampleRequest, uniqueSpec } from '../support/requests.js';
import { operationStandInBundle, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { createBindingActivities } from '../../activities/binding.js';
import { frontDoor } from '../support/front-door.js';
import { pollUntil } from '../support/poll.js';
import { STEP_NAMES } from '../../workflows/definitions.js';

const TOKENS = {
  viewer: 'cli-viewer-token-0123456789',
  operator: 'cli-operator-token-0123456789',
  approver: 'cli-approver-token-0123456789',
};
const TOKEN_SPEC = `viewer:${TOKENS.viewer},operator:${TOKENS.operator},approver:alice:${TOKENS.approver}`;
const UNKNOWN_TOKEN = 'cli-unknown-token-0123456789';
const ESC = '\x1b';

let harness: ApiHarness;
let service: ProvisioningService;
let apiUrl: string;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'aks-gmsa-cli-test-'));
/** An empty lab dir, so no run reads the lab.env of a lab that happens to run on this machine. */
const noLab = path.join(tmp, 'no-lab');

before(async () => {
  // The day-2 commands run the API's stand-in operations (they echo their input); provisionings are the product's.
  harness = await startApiHarness({
    tokens: TokenTable.parse(TOKEN_SPEC),
    listen: true,
    prefix: 'cli',
    workflowBundle: await operationStandInBundle(),
    overrides: { readBinding: createBindingActivities().readBinding },
  });
  service = harness.service;
  apiUrl = harness.url!;
});

after(async () => {
  await harness?.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  /** Which token GMSA_API_TOKEN holds; none leaves it unset. */
  as?: keyof typeof TOKENS | 'none';
  input?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts the CLI; `done` resolves when it exits. */
function spawnCli(args: string[], o: CliOptions = {}) {
  const role = o.as ?? 'viewer';
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH,
      GMSA_LAB_DIR: noLab,
      GMSA_API_URL: apiUrl,
      ...(role === 'none' ? {} : { GMSA_API_TOKEN: TOKENS[role] }),
      ...o.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(o.input ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      for (const token of [...Object.values(TOKENS), UNKNOWN_TOKEN]) {
        assert.ok(!stdout.includes(token) && !stderr.includes(token), `aks-gmsa ${args.join(' ')} printed a token`);
      }
      resolve({ code, stdout, stderr });
    });
  });
  return { done, output: () => stdout };
}

const cli = (args: string[], o?: CliOptions) => spawnCli(args, o).done;

function requestFile(body: unknown): string {
  const file = path.join(tmp, `request-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(body, null, 2));
  return file;
}

/** A distinct cluster per test, so list filters and workflow ids never collide across tests or runs. */
const uniqueCluster = () => `aks-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
function request(o: Parameters<typeof exampleRequest>[0] = {}, cluster = uniqueCluster()) {
  const r = exampleRequest({ spec: uniqueSpec('cli'), ...o });
  r.cluster.name = cluster;
  return r;
}

async function start(body: unknown): Promise<string> {
  const run = await cli(['start', requestFile(body), '--json'], { as: 'operator' });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout).id as string;
}

/** Polls the API directly (cheaper than a CLI process per poll) until the provisioning matches. */
async function waitFor(id: string, ok: (b: Record<string, unknown>) => boolean, what: string) {
  let body: Record<string, unknown> = {};
  return pollUntil(
    what,
    async () => {
      const res = await fetch(`${apiUrl}/v1/provisionings/${id}`, {
        headers: { authorization: `Bearer ${TOKENS.viewer}` },
      });
      body = (await res.json()) as Record<string, unknown>;
      return res.ok && ok(body) && body;
    },
    { intervalMs: 150, last: () => JSON.stringify(body).slice(0, 500) },
  );
}

/** Waits until what a running CLI printed matches `pattern`. */
const printed = (run: { output: () => string }, pattern: RegExp, what: string) =>
  pollUntil(what, () => pattern.test(run.output()), { last: run.output });

const awaitingApproval = (b: Record<string, unknown>) =>
  (b.steps as { name: string; status: string }[]).some((s) => s.name === 'awaitAdApproval' && s.status === 'waiting');

const STEPS = STEP_NAMES;

describe('usage', () => {
  test('help names every command and the lab default; no command is a usage error', async () => {
    const help = await cli(['help']);
    assert.equal(help.code, 0);
    for (const word of [
      'start',
      'status',
      'watch',
      'approve',
      'cancel',
      'list',
      'GMSA_API_URL',
      'GMSA_API_TOKEN',
    ].concat(
      ['deprovision <id> \\[--disable-gmsa\\]', 'rotate <id>', 'repair <id>', 'validate <id> \\[--mode chain\\|pod\\]'],
      ['operation <operationId>', 'operations \\[--binding', 'access <id>', 'sample <id>'],
    ))
      assert.match(help.stdout, new RegExp(word));
    assert.match(help.stdout, /Lab default: .*\.lab\/lab\.env/s);
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage:/);
  });

  test('an unknown command, a missing argument or an option of another command exits 2', async () => {
    for (const args of [['frobnicate'], ['status'], ['status', 'x', 'y'], ['cancel', 'x', '--comment', 'c']]) {
      const run = await cli(args);
      assert.equal(run.code, 2, `aks-gmsa ${args.join(' ')}`);
      assert.match(run.stderr, /^error: /);
    }
  });

  test('without any token, it says where one comes from and exits 2', async () => {
    const run = await cli(['list'], { as: 'none' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no API token: set GMSA_API_TOKEN or pass --token/);
  });

  test('a file that is not JSON, or is missing, exits 2 naming it', async () => {
    const bad = path.join(tmp, 'not-json.json');
    writeFileSync(bad, '{ "cluster": ');
    const run = await cli(['start', bad], { as: 'operator' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /not-json\.json is not JSON/);
    const missing = await cli(['start', path.join(tmp, 'nowhere.json')], { as: 'operator' });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nowhere\.json/);
  });

  test('an API that is not there: a clear message and exit 1', async () => {
    const url = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const run = await cli(['list'], { env: { GMSA_API_URL: url } });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `error: cannot reach the API at ${url}: ECONNREFUSED\n`);
  });
});

describe('start, status and watch', () => {
  test('start a nested request: the id; status shows it; watch (not a terminal) lists every step, exit 0', async () => {
    const body = request();
    const started = await cli(['start', requestFile(body)], { as: 'operator' });
    assert.equal(started.code, 0, started.stderr);
    const id = /^started (\S+)$/m.exec(started.stdout)?.[1];
    assert.match(id ?? '', /^gmsa-aks-/);
    assert.match(started.stdout, /Temporal UI: http:\/\/.*\/workflows\/gmsa-aks-/);

    const watched = await cli(['watch', id!, '--interval', '0.2']);
    assert.equal(watched.code, 0, watched.stdout + watched.stderr);
    for (const step of STEPS) {
      // Workflow steps (a wait, the scale-set coordinator's answer, the day-2 Schedules) have no attempts.
      const workflowStep = ['awaitAdApproval', 'attachIdentity', 'scheduleOperations'].includes(step);
      const attempt = workflowStep ? '' : ' +attempt 1';
      assert.match(watched.stdout, new RegExp(`  ${step} +succeeded${attempt}  `), step);
    }
    assert.match(watched.stdout, new RegExp(`${id} COMPLETED\\n$`));
    assert.ok(!watched.stdout.includes(ESC), 'no terminal escapes in a pipe');

    const status = await cli(['status', id!]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^${id}  COMPLETED`));
    assert.match(status.stdout, /^STEP +STATUS +ATTEMPTS +STARTED +TOOK +NOTE$/m);
    for (const step of STEPS) assert.match(status.stdout, new RegExp(`^${step} +succeeded +[01] `, 'm'));
    assert.match(status.stdout, new RegExp(`credentialSpecName: ${body.gmsa.credentialSpecName}$`, 'm'));
    assert.match(status.stdout, new RegExp(`gmsaDn: CN=${body.gmsa.name},CN=Managed Service Accounts,`));

    const asJson = await cli(['status', id!, '--json']);
    const view = JSON.parse(asJson.stdout);
    assert.equal(view.id, id);
    assert.equal(view.status, 'COMPLETED');
    assert.deepEqual(
      view.steps.map((s: { name: string }) => s.name),
      STEPS,
    );
  });

  test('start a PowerShell params file from stdin, and --watch follows it to COMPLETED', async () => {
    const flat = examplePowerShellParams({ cluster: uniqueCluster(), spec: uniqueSpec('flat') });
    // PowerShell writes a byte-order mark; the CLI reads the file as it is.
    const run = await cli(['start', '-', '--watch', '--interval', '0.2'], {
      as: 'operator',
      input: `\uFEFF${JSON.stringify(flat)}`,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^started gmsa-aks-/);
    assert.match(run.stdout, / {2}verifyChain +succeeded/);
    assert.match(run.stdout, / COMPLETED\n$/);
  });

  test('--json start gives the API answer; a second start of the same spec is 409 with the running id', async () => {
    const body = request({ options: { requireAdApproval: true } });
    const id = await start(body);
    const again = await cli(['start', requestFile(body)], { as: 'operator' });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: Conflict \(409\): a provisioning .* is already running/);
    assert.match(again.stderr, new RegExp(`running: ${id}`));
    await cli(['cancel', id], { as: 'operator' });
  });

  test('status of an unknown id: 404 and exit 1', async () => {
    const run = await cli(['status', 'gmsa-aks1-nothing-0123456789ab']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: Not Found \(404\): no provisioning gmsa-aks1-nothing-0123456789ab/);
  });
});

describe('approve and cancel', () => {
  test('watch shows the wait; approve with a comment lets it finish; the approver is named', async () => {
    const id = await start(request({ options: { requireAdApproval: true } }));
    const watching = spawnCli(['watch', id, '--interval', '0.2']);
    await waitFor(id, awaitingApproval, 'the approval wait');
    // The watch has seen the wait before the approval ends it.
    await printed(watching, /awaitAdApproval +waiting/, 'the watch to show the wait');

    const approve = await cli(['approve', id, '--comment', 'key replicated'], { as: 'approver' });
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, new RegExp(`approved the AD step of ${id}`));

    const watched = await watching.done;
    assert.equal(watched.code, 0, watched.stdout + watched.stderr);
    assert.match(watched.stdout, /awaitAdApproval +waiting/);
    assert.match(watched.stdout, /awaitAdApproval +succeeded/);
    assert.match(watched.stdout, /approved by alice: "key replicated"/);
    assert.match(watched.stdout, / COMPLETED\n$/);

    const again = await cli(['approve', id], { as: 'approver' });
    assert.equal(again.code, 1, 'a finished provisioning cannot be approved');
    assert.match(again.stderr, /Conflict \(409\): .* is COMPLETED, not running/);
  });

  test('cancel: the watch ends with CANCELED and exits non-zero', async () => {
    const id = await start(request({ options: { requireAdApproval: true } }));
    const watching = spawnCli(['watch', id, '--interval', '0.2']);
    await waitFor(id, awaitingApproval, 'the approval wait');
    const cancel = await cli(['cancel', id], { as: 'operator' });
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, new RegExp(`cancel requested for ${id}`));
    const watched = await watching.done;
    assert.equal(watched.code, 1, watched.stdout + watched.stderr);
    assert.match(watched.stdout, new RegExp(`${id} CANCELED\\n`));
  });
});

describe('watch on a terminal', () => {
  test('redraws the status view in place, moving up over the previous frame, until the end', async () => {
    const id = await start(request({ options: { requireAdApproval: true } }));
    let written = '';
    const out = new Writable({
      write(chunk: Buffer, _enc, next) {
        written += chunk.toString();
        next();
      },
    });
    const client = new ApiClient({ url: apiUrl, token: TOKENS.viewer, tokenSource: 'test' });
    const watching = watch(client, id, {
      intervalMs: 100,
      out,
      redraw: true,
      style: { color: true },
      columns: () => 60,
    });
    await waitFor(id, awaitingApproval, 'the approval wait');
    await pollUntil('a frame that shows the wait', () =>
      /awaitAdApproval +waiting/.test(stripVTControlCharacters(written)),
    );
    await fetch(`${apiUrl}/v1/provisionings/${id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.approver}` },
    });
    const final = await watching;
    assert.equal(final.status, 'COMPLETED');

    // Every frame after the first starts by moving up exactly the height of the one before (ESC[nF), then clears
    // to the end of the screen (ESC[J).
    const pieces = written.split(`${ESC}[J`);
    assert.ok(pieces.length >= 2, 'redrawn at least once');
    const frames = pieces.map((p, i) => (i < pieces.length - 1 ? p.slice(0, p.lastIndexOf(`${ESC}[`)) : p));
    for (let i = 0; i < pieces.length - 1; i++) {
      const up = pieces[i]!.slice(pieces[i]!.lastIndexOf(`${ESC}[`) + 2);
      assert.equal(up, `${frames[i]!.split('\n').length - 1}F`, `the move up after frame ${i}`);
    }
    assert.ok(
      frames.some((f) => /awaitAdApproval +waiting/.test(stripVTControlCharacters(f))),
      'a frame shows the wait',
    );
    const last = stripVTControlCharacters(frames.at(-1)!);
    assert.match(last, new RegExp(`^${id.slice(0, 40)}`), 'the last frame starts with the id');
    assert.match(last, /COMPLETED/);
    assert.ok(
      last.split('\n').every((l) => l.length <= 59),
      'lines are cut to the terminal width',
    );
    assert.ok(written.includes(`${ESC}[32msucceeded`), 'coloured statuses');
  });
});

describe('watch across an API restart', () => {
  test('keeps following through an outage, says so once, and ends when the provisioning does', async () => {
    const id = await start(request({ options: { requireAdApproval: true } }));
    // The CLI talks to a front door this test owns; behind it the API goes away and a new one comes up.
    const door = await frontDoor();
    const serve = async () => {
      const api = await buildApp({ service, tokens: TokenTable.parse(TOKEN_SPEC) });
      await api.listen({ host: '127.0.0.1', port: 0 });
      door.up((api.server.address() as AddressInfo).port);
      return api;
    };
    let api = await serve();
    const watching = spawnCli(['watch', id, '--interval', '0.1'], { env: { GMSA_API_URL: door.url } });
    try {
      await printed(watching, /awaitAdApproval +waiting/, 'the watch to show the wait');
      door.down();
      await api.close();
      await printed(watching, /retrying/, 'the watch to report the outage');
      // Several failed polls, counted at the door: the message must still appear once.
      await pollUntil('three failed polls', () => door.refused() >= 3);
      api = await serve();
      const approve = await cli(['approve', id], { as: 'approver', env: { GMSA_API_URL: door.url } });
      assert.equal(approve.code, 0, approve.stderr);
      const watched = await watching.done;
      assert.equal(watched.code, 0, watched.stdout + watched.stderr);
      assert.equal(watched.stdout.match(/cannot reach the API at .*; retrying/g)?.length, 1, watched.stdout);
      assert.match(watched.stdout, / COMPLETED\n$/);
    } finally {
      await api.close();
      await door.close();
    }
  });
});

describe('list', () => {
  test('filters by cluster and status, newest first, as a table and as JSON', async () => {
    const cluster = uniqueCluster();
    const listed = async () => {
      const run = await cli(['list', '--cluster', cluster, '--status', 'running', '--json']);
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout).items as { id: string; status: string; cluster: string; startedAt: string }[];
    };
    // Visibility is eventually consistent: poll, with a deadline. The second run starts only once the first is
    // listed and the clock has passed its start, so "newest first" has one right answer.
    const a = await start(request({ options: { requireAdApproval: true } }, cluster));
    const [first] = await pollUntil('the first run to be listed', async () => {
      const items = await listed();
      return items.length === 1 && items;
    });
    await pollUntil("the clock to pass the first run's start", () => Date.now() > Date.parse(first!.startedAt));
    const b = await start(request({ options: { requireAdApproval: true } }, cluster));
    const items = await pollUntil('both runs to be listed', async () => {
      const items = await listed();
      return items.length >= 2 && items;
    });
    assert.deepEqual(
      items.map((i) => i.id),
      [b, a],
    );
    assert.ok(items.every((i) => i.cluster === cluster && i.status === 'RUNNING'));

    const table = await cli(['list', '--cluster', cluster]);
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trim().split('\n');
    assert.match(rows[0]!, /^ID +STATUS +CLUSTER +SPEC +STARTED/);
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(/\s+/).slice(0, 3)),
      [
        [b, 'RUNNING', cluster],
        [a, 'RUNNING', cluster],
      ],
    );

    // Pages of one: the first page alone, or with --all every page through the API's page token.
    for (const [all, ids] of [
      [[], [b]],
      [['--all'], [b, a]],
    ] as const) {
      const paged = await cli(['list', '--cluster', cluster, '--limit', '1', ...all, '--json']);
      assert.equal(paged.code, 0, paged.stderr);
      assert.deepEqual(
        JSON.parse(paged.stdout).items.map((i: { id: string }) => i.id),
        ids,
      );
    }

    const none = await cli(['list', '--cluster', cluster, '--status', 'COMPLETED']);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, 'no provisionings\n');
    for (const id of [a, b]) assert.equal((await cli(['cancel', id], { as: 'operator' })).code, 0);
  });

  test('a status the API does not know: 400 with the field, exit 2', async () => {
    const run = await cli(['list', '--status', 'bogus']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^error: Bad Request \(400\)/);
    assert.match(run.stderr, /^ {2}\/querystring\/status: /m);
  });
});

describe('errors from the API', () => {
  test('400: every field error as field: message, exit 2', async () => {
    const r = request() as unknown as Record<string, Record<string, unknown>>;
    r.gmsa!.name = 'this-name-is-too-long';
    r.domain!.dnsServer = '10.0.0.300';
    (r as Record<string, unknown>).extra = 1;
    const run = await cli(['start', requestFile(r)], { as: 'operator' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^error: Bad Request \(400\): the request is not valid$/m);
    assert.match(run.stderr, /^ {2}\/gmsa\/name: .*15/m);
    assert.match(run.stderr, /^ {2}\/domain\/dnsServer: .*IPv4/m);
    assert.match(run.stderr, /^ {2}\/extra: unknown field$/m);
    assert.equal(run.stdout, '');
  });

  test('400 for a params file with a password: where credentials belong, the password not echoed', async () => {
    const run = await cli(['start', '-'], {
      as: 'operator',
      input: JSON.stringify({ 'aks-cluster-name': 'aks1', 'gmsa-domain-user-password': 'P@ssw0rd-not-echoed' }),
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^ {2}\/gmsa-domain-user-password: is not accepted: .*Key Vault/m);
    assert.ok(!run.stderr.includes('P@ssw0rd-not-echoed'));
  });

  test('401 for an unknown token, 403 for a role that may not: the message and the token source, exit 1', async () => {
    const unknown = await cli(['list'], { as: 'none', env: { GMSA_API_TOKEN: UNKNOWN_TOKEN } });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: Unauthorized \(401\): the bearer token is not valid$/m);
    assert.match(unknown.stderr, /token used: GMSA_API_TOKEN/);

    const viewer = await cli(['start', requestFile(request())], { as: 'viewer' });
    assert.equal(viewer.code, 1);
    assert.match(viewer.stderr, /^error: Forbidden \(403\): start needs the role operator$/m);

    const operator = await cli(['approve', 'gmsa-aks1-webapp01-0123456789ab'], { as: 'operator' });
    assert.equal(operator.code, 1);
    assert.match(operator.stderr, /Forbidden \(403\): approve needs the role approver/);
  });
});

describe('where the URL and token come from', () => {
  test('--url and --token override the environment', async () => {
    const run = await cli(['list', '--url', apiUrl, '--token', TOKENS.viewer, '--limit', '1'], {
      as: 'none',
      env: { GMSA_API_URL: `http://127.0.0.1:${await freePort()}` },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^(ID|no provisionings)/);
  });

  test('the lab default: .lab/lab.env gives the URL and the token of the role each command needs', async () => {
    // The lab writes shell-quoted values; a quote inside one is written as '\''.
    writeFileSync(
      path.join(tmp, 'lab.env'),
      [
        "export TEMPORAL_ADDRESS='127.0.0.1:7233'",
        `export GMSA_API_TOKENS='${TOKEN_SPEC}'`,
        `export GMSA_API_URL='${apiUrl}'`,
        "export OTHER='it'\\''s'",
      ].join('\n') + '\n',
    );
    const lab = { as: 'none' as const, env: { GMSA_LAB_DIR: tmp, GMSA_API_URL: '' } };

    const id = /^started (\S+)$/m.exec(
      (await cli(['start', requestFile(request({ options: { requireAdApproval: true } }))], lab)).stdout,
    )?.[1];
    assert.ok(id, 'start used the operator token');
    await waitFor(id, awaitingApproval, 'the approval wait');
    const approve = await cli(['approve', id], lab);
    assert.equal(approve.code, 0, approve.stderr);
    const done = await waitFor(id, (b) => b.status === 'COMPLETED', 'completion after approval');
    assert.equal((done.approval as { by: string }).by, 'alice', 'approve used the approver token');
    const status = await cli(['status', id, '--json'], lab);
    assert.equal(status.code, 0, status.stderr);

    // A lab whose token list lacks the role: say so rather than send the wrong token.
    writeFileSync(path.join(tmp, 'lab.env'), `GMSA_API_URL=${apiUrl}\nGMSA_API_TOKENS=viewer:${TOKENS.viewer}\n`);
    const cancel = await cli(['cancel', id], lab);
    assert.equal(cancel.code, 2);
    assert.match(cancel.stderr, /the lab's GMSA_API_TOKENS .* has no operator token; set GMSA_API_TOKEN/);
    assert.equal((await cli(['list', '--limit', '1'], lab)).code, 0, 'reading works with the viewer token');
  });

  test("the lab's token list is read by the API's own rule: an entry the API refuses is named, not sent", async () => {
    const dir = mkdtempSync(path.join(tmp, 'lab-'));
    // The API refuses a token under 16 characters; sending this one could only end in a 401.
    const short = 'short-0123';
    writeFileSync(path.join(dir, 'lab.env'), `GMSA_API_URL=${apiUrl}\nGMSA_API_TOKENS=viewer:${short}\n`);
    const run = await cli(['list', '--limit', '1'], { as: 'none', env: { GMSA_LAB_DIR: dir, GMSA_API_URL: '' } });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /the lab's GMSA_API_TOKENS: a viewer token is shorter than 16 characters \(.*lab\.env\)/);
    assert.ok(!run.stderr.includes(short) && !run.stdout.includes(short), 'the token is not printed');
  });
});

describe('day-2 operations', () => {
  /** A completed provisioning: a binding. */
  async function bindingId(): Promise<string> {
    const id = await start(request());
    await waitFor(id, (b) => b.status === 'COMPLETED', 'the binding to be provisioned');
    return id;
  }
  const operation = async (opId: string) => {
    const run = await cli(['operation', opId, '--json']);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as { status: string; kind: string; outputs?: { input: unknown } };
  };

  test('repair --watch follows the operation to COMPLETED, exit 0; operation shows it', async () => {
    const id = await bindingId();
    const run = await cli(['repair', id, '--watch', '--interval', '0.2'], { as: 'operator' });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^started repair ${id}\\.repair\n`));
    assert.match(run.stdout, new RegExp(`aks-gmsa operation ${id}\\.repair --watch`));
    assert.match(run.stdout, /readBinding +succeeded/);
    assert.match(run.stdout, /verifyChain +succeeded/);
    assert.match(run.stdout, new RegExp(`${id}\\.repair COMPLETED\n$`));
    const shown = await cli(['operation', `${id}.repair`]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`operation: repair of ${id}`));
    assert.match(shown.stdout, /COMPLETED/);
  });

  test('validate, deprovision and rotate send their options as the body', async () => {
    const id = await bindingId();
    const cases: [string[], string, object][] = [
      [['validate', id, '--mode', 'pod', '--timeout', '120'], 'validate', { mode: 'pod', timeoutSeconds: 120 }],
      [['deprovision', id, '--disable-gmsa'], 'deprovision', { disableGmsa: true }],
      [['rotate', id], 'rotate', {}],
    ];
    for (const [args, suffix, body] of cases) {
      const run = await cli([...args, '--json'], { as: 'operator' });
      assert.equal(run.code, 0, run.stderr);
      const opId = JSON.parse(run.stdout).operationId as string;
      assert.equal(opId, `${id}.${suffix}`);
      const done = await pollUntil(`${opId} to complete`, async () => {
        const v = await operation(opId);
        return v.status === 'COMPLETED' && v;
      });
      assert.deepEqual(done.outputs?.input, { ...body, bindingId: id }, args.join(' '));
    }
    const validateDefault = await cli(['validate', id, '--json'], { as: 'operator' });
    assert.equal(validateDefault.code, 0, validateDefault.stderr);
    const v = await pollUntil('the chain validation', async () => {
      const view = await operation(`${id}.validate`);
      return view.status === 'COMPLETED' && view;
    });
    assert.deepEqual(v.outputs?.input, { mode: 'chain', bindingId: id }, '--mode defaults to chain');
  });

  test('operations lists by binding and kind, as a table and as JSON', async () => {
    const id = await bindingId();
    for (const cmd of ['repair', 'rotate']) {
      const run = await cli([cmd, id, '--json'], { as: 'operator' });
      assert.equal(run.code, 0, run.stderr);
    }
    const items = await pollUntil('both operations to be listed', async () => {
      const run = await cli(['operations', '--binding', id, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const { items } = JSON.parse(run.stdout) as { items: { id: string; status: string }[] };
      return items.length === 2 && items.every((i) => i.status === 'COMPLETED') && items;
    });
    assert.deepEqual(items.map((i) => i.id).sort(), [`${id}.repair`, `${id}.rotate`]);
    const table = await cli(['operations', '--binding', id, '--kind', 'repair']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID +KIND +STATUS +STARTED +CLOSED$/);
    assert.equal(lines.length, 2, table.stdout);
    assert.match(lines[1]!, new RegExp(`^${id}\\.repair +repair +COMPLETED`));
    const bad = await cli(['operations', '--kind', 'reboot']);
    assert.equal(bad.code, 2, 'a kind the API does not know is a 400');
    assert.match(bad.stderr, /\/querystring\/kind/);
  });

  test('access prints the report; sample prints the YAML as it is, or JSON', async () => {
    const id = await bindingId();
    // The stand-in's report is not the product's shape: shown as the JSON it is, as --json does.
    const access = await cli(['access', id]);
    assert.equal(access.code, 0, access.stderr);
    assert.equal(JSON.parse(access.stdout).bindingId, id);
    assert.deepEqual(JSON.parse((await cli(['access', id, '--json'])).stdout), JSON.parse(access.stdout));
    const sample = await cli(['sample', id]);
    assert.equal(sample.code, 0, sample.stderr);
    assert.match(sample.stdout, /^apiVersion: apps\/v1\nkind: Deployment\n/);
    const json = await cli(['sample', id, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).yaml, sample.stdout);
  });

  test('refusals: a bad --mode is a usage error; a viewer cannot repair; an unknown binding is 404', async () => {
    const mode = await cli(['validate', 'gmsa-aks1-nothing-0123456789ab', '--mode', 'smoke'], { as: 'operator' });
    assert.equal(mode.code, 2);
    assert.match(mode.stderr, /--mode is chain or pod/);
    const id = await bindingId();
    const viewer = await cli(['repair', id], { as: 'viewer' });
    assert.equal(viewer.code, 1);
    assert.match(viewer.stderr, /\(403\).*operator/);
    const unknown = await cli(['rotate', 'gmsa-aks1-nothing-0123456789ab'], { as: 'operator' });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /\(404\): no provisioning gmsa-aks1-nothing-0123456789ab/);
    const option = await cli(['repair', id, '--disable-gmsa'], { as: 'operator' });
    assert.equal(option.code, 2, '--disable-gmsa belongs to deprovision');
  });
});

test("the access report as tables: each pool's status, each principal, and the problems", () => {
  const host = '11111111-1111-1111-1111-111111111111';
  const stranger = '22222222-2222-2222-2222-222222222222';
  const identity = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi';
  const report = accessReport({
    bindingId: 'gmsa-aks1-webapp01-0123456789ab',
    hostIdentity: 'managedIdentity',
    hostPrincipalId: host,
    hostIdentityId: identity,
    windowsNodePools: ['win1'],
    pools: [
      {
        name: 'win1',
        osType: 'Windows',
        osSku: 'Windows2022',
        identities: [identity],
        identityPrincipals: { [identity]: host },
      },
      { name: 'nodepool1', osType: 'Linux', identities: [] },
    ],
    accessModel: 'accessPolicy',
    vaultId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv',
    secretName: 'gmsa-webapp01',
    readers: [host, stranger].map((principalId) => ({
      principalId,
      via: 'accessPolicy' as const,
      scope: 'kv',
      permissions: ['get'],
      readsValue: true,
    })),
  });
  const text = accessView(report as unknown as Record<string, unknown>, { color: false }).join('\n');
  assert.match(text, /^POOL +OS +SHOULD READ +CAN READ +STATUS +NOTE$/m);
  assert.match(text, /^win1 +Windows2022 +yes +yes +ok /m);
  assert.match(text, /^nodepool1 +Linux +no +no +absent /m);
  assert.match(text, new RegExp(`^${host} +host +yes +win1 `, 'm'));
  assert.match(text, new RegExp(`^${stranger} +unexpected +no +- `, 'm'));
  assert.match(text, /every secret of the vault/);
  assert.match(text, /^problems:\n {2}.*22222222/m);
  assert.equal(accessView({ other: 1 }, { color: false }).join('\n'), JSON.stringify({ other: 1 }, null, 2));
});
