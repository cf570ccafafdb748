/**
 * The Azure fake as one object: an HTTPS listener for ARM, the token endpoint and `/_admin`, plus one HTTPS
 * listener per Key Vault data plane. Each call is logged, delayed and maybe failed by the knobs, then checked the
 * way ARM does (bearer token, subscription, api-version) before its route runs. Faults are injected here, once
 * for every route: before the route (an error reply or a reset), or after it (`appliedThenReset`: the change is
 * made and the connection dropped; `lroFailed`: the operations the route started end Failed).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { adminRoute, type LoggedRequest } from './admin.js';
import { armError, json, readBody, tagsError, type Reply, type Request } from './arm-http.js';
import type { LabCertificates } from './certs.js';
import type { Ctx, Route } from './context.js';
import {
  defaultKnobs,
  drawFault,
  faultReply,
  latencyFor,
  lroFailure,
  mayFailLro,
  updateKnobs,
  type FaultRule,
  type Knobs,
} from './knobs.js';
import {
  failOperation,
  finishRunningOperations,
  operationRoute,
  operationsStartedBy,
  settleOperations,
} from './lro.js';
import { aksRoutes } from './routes-aks.js';
import { authorizationRoutes } from './routes-authorization.js';
import { computeRoutes } from './routes-compute.js';
import { keyVaultRoutes } from './routes-keyvault.js';
import { msiRoutes } from './routes-msi.js';
import { tokenRoutes, verifyToken } from './token.js';
import { handleVaultRequest, vaultOp } from './vault-data-plane.js';
import { createWorld, get, type World } from './world.js';
import { worldFile, type WorldFile } from './world-file.js';

/** The api-versions the pinned @azure/arm-* clients and @azure/keyvault-secrets send, per provider. */
export const API_VERSIONS: Record<string, string[]> = {
  'Microsoft.ContainerService': ['2025-10-01'],
  'Microsoft.Compute': ['2025-04-01'],
  'Microsoft.ManagedIdentity': ['2024-11-30', '2023-01-31'],
  'Microsoft.KeyVault': ['2026-02-01', '2025-05-01', '2024-11-01', '2023-07-01'],
  'Microsoft.Authorization': ['2022-04-01'],
  vault: ['2025-07-01', '7.6', '7.5', '7.4'],
};

const ROUTES: Route[] = [...aksRoutes, ...computeRoutes, ...msiRoutes, ...keyVaultRoutes, ...authorizationRoutes];
const LOG_LIMIT = 5000;

export interface AzureFakeOptions {
  port?: number;
  certs: LabCertificates;
  clientSecret: string;
  /** A kubeconfig file to hand out from listClusterUserCredential (the lab Kubernetes API), else a placeholder. */
  kubeconfigFile?: string;
  knobs?: Partial<Knobs>;
  /**
   * Keep the world in this file (world-file.ts): loaded at start when it exists, written after changes. Without it
   * the world is in memory only (tests), and a restart starts from the seed.
   */
  worldFile?: string;
}

export interface AzureFake {
  armEndpoint: string;
  world(): World;
  close(): Promise<void>;
}

export async function startAzureFake(o: AzureFakeOptions): Promise<AzureFake> {
  const tls = { cert: readFileSync(o.certs.certFile), key: readFileSync(o.certs.keyFile) };
  const caPem = readFileSync(o.certs.caFile);
  let armPort: number | undefined = undefined; // known once listening
  const store: WorldFile | undefined = o.worldFile ? worldFile(o.worldFile, () => ({ world, armPort })) : undefined;
  const saved = store?.load();
  // A saved world keeps its app registrations and their secrets: the lab's settings are read from it.
  let world: World = saved?.world ?? createWorld(o.clientSecret);
  let knobs: Knobs = updateKnobs(defaultKnobs(), o.knobs ?? {});
  const log: LoggedRequest[] = [];
  let seq = 0;
  const vaultServers = new Map<string, https.Server>();
  let origin = '';

  // Stamped when the reply is decided, in one process: a mark taken after a call returns sorts after it.
  const record = (entry: Omit<LoggedRequest, 'seq'>) => {
    log.push({ seq: ++seq, ...entry });
    if (log.length > LOG_LIMIT) log.splice(0, log.length - LOG_LIMIT);
  };

  const toRequest = async (req: IncomingMessage, port: number): Promise<Request> => {
    // Not new URL(req.url): a path starting with `//` would be read as a host.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = decodeURIComponent(q < 0 ? raw : raw.slice(0, q));
    const path = pathname.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
    const receivedAt = Date.now();
    return {
      receivedAt,
      method: req.method ?? 'GET',
      path,
      query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
      headers: req.headers,
      body: await readBody(req),
      origin: `https://127.0.0.1:${port}`,
    };
  };

  const send = (res: ServerResponse, reply: Reply) => {
    if (reply.status === 0) {
      res.socket?.destroy(); // injected connection reset
      return;
    }
    const headers: Record<string, string> = { 'x-ms-request-id': randomUUID(), ...(reply.headers ?? {}) };
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(reply.body));
  };

  /**
   * Latency, then maybe a fault: the common front of every ARM and data-plane call. `path` is what knobs match
   * (`vault:{name}/…` on a data plane).
   */
  const front = async (
    req: Request,
    op: string,
    path: string,
    scope: string,
  ): Promise<{ reply?: Reply; rule?: FaultRule }> => {
    const ms = latencyFor(knobs, op, path);
    if (ms > 0) await delay(ms);
    const rule = drawFault(knobs, op, path);
    if (!rule) return {};
    const claims = verifyToken(req.headers.authorization, [
      origin,
      'https://management.azure.com',
      'https://vault.azure.net',
    ]);
    const caller = claims ? { oid: claims.oid, appid: claims.appid } : undefined;
    return { reply: faultReply(rule, op, scope, caller), rule };
  };

  /** The reply to send and the log fields for it: the connection dropped after the fact when a rule says so. */
  const finalReply = (reply: Reply, rule: FaultRule | undefined, op: string, path: string) => {
    const applied = !rule && reply.status >= 200 && reply.status < 300;
    const drop = applied ? drawFault(knobs, op, path, 'applied') : undefined;
    return drop
      ? { reply: { status: 0 }, logged: { status: 0, fault: drop.kind, applied: reply.status } }
      : { reply, logged: { status: reply.status, fault: rule?.kind } };
  };

  const kubeconfig: Ctx['kubeconfig'] = (cluster, admin) => {
    if (o.kubeconfigFile) return readFileSync(o.kubeconfigFile, 'utf8');
    const user = `cluster${admin ? 'Admin' : 'User'}_${cluster.name}`;
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${cluster.name}`,
      '  cluster:',
      `    server: https://${cluster.fqdn}:443`,
      `    certificate-authority-data: ${caPem.toString('base64')}`,
      'contexts:',
      `- name: ${cluster.name}`,
      '  context:',
      `    cluster: ${cluster.name}`,
      `    user: ${user}`,
      `current-context: ${cluster.name}`,
      'users:',
      `- name: ${user}`,
      '  user:',
      '    token: lab-placeholder-token',
      '',
    ].join('\n');
  };

  const vaults: Ctx['vaults'] = {
    async open(name, port = 0) {
      const existing = vaultServers.get(name.toLowerCase());
      if (existing) return `https://127.0.0.1:${(existing.address() as AddressInfo).port}/`;
      const server = https.createServer(tls, (req, res) => void onVault(name, server, req, res));
      await listen(server, port);
      vaultServers.set(name.toLowerCase(), server);
      return `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    },
    close(name) {
      vaultServers.get(name.toLowerCase())?.close();
      vaultServers.get(name.toLowerCase())?.closeAllConnections();
      vaultServers.delete(name.toLowerCase());
    },
  };

  async function onVault(name: string, server: https.Server, raw: IncomingMessage, res: ServerResponse) {
    const req = await toRequest(raw, (server.address() as AddressInfo).port);
    const op = vaultOp(req);
    const path = `vault:${name}${req.path}`;
    const apiVersion = req.query.get('api-version') ?? undefined;
    const injected = await front(req, op, path, name);
    let reply = injected.reply;
    if (!reply && apiVersion && !API_VERSIONS.vault?.includes(apiVersion)) {
      reply = json(400, {
        error: { code: 'BadParameter', message: `The specified version (${apiVersion}) is not recognized.` },
      });
    }
    reply ??= handleVaultRequest(world, knobs, name, origin, req);
    const out = finalReply(reply, injected.rule, op, path);
    record({ at: Date.now(), method: req.method, path, op, apiVersion, ...out.logged });
    store?.changed();
    send(res, out.reply);
  }

  async function onArm(raw: IncomingMessage, res: ServerResponse, port: number) {
    const req = await toRequest(raw, port);
    settleOperations(world);
    const host = {
      world,
      knobs,
      log,
      lastSeq: () => seq,
      setKnobs: (k: Knobs) => (knobs = k),
      reset: () => {
        for (const n of [...vaultServers.keys()]) vaults.close(n);
        world = createWorld(o.clientSecret);
        knobs = updateKnobs(defaultKnobs(), o.knobs ?? {});
        log.length = 0;
      },
    };
    const pre = adminRoute(host, req) ?? tokenRoutes(world, req);
    if (pre) {
      store?.changed();
      if (!req.path.startsWith('/_admin'))
        record({ at: Date.now(), method: req.method, path: req.path, op: 'token', status: pre.status });
      send(res, pre);
      return;
    }
    const apiVersion = req.query.get('api-version') ?? undefined;
    const isOpStatus = operationRoute(world, knobs, req) !== undefined;
    let route: Route | undefined;
    let m: RegExpExecArray | null = null;
    for (const r of ROUTES) {
      if (r.method !== req.method) continue;
      m = r.pattern.exec(req.path);
      if (m) {
        route = r;
        break;
      }
    }
    const op = isOpStatus ? 'GET operations' : (route?.op ?? `${req.method} unknown`);
    let reply: Reply | undefined;
    let rule: FaultRule | undefined;
    const claims = verifyToken(req.headers.authorization, [origin, 'https://management.azure.com']);
    if (!claims) {
      reply = armError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing or the token is invalid.",
        {
          'WWW-Authenticate': `Bearer authorization_uri="${origin}/${world.tenantId}", error="invalid_token"`,
        },
      );
    } else {
      req.caller = { oid: claims.oid, tid: claims.tid, appid: claims.appid };
      ({ reply, rule } = await front(req, op, req.path, req.path));
    }
    if (!reply && !apiVersion) {
      reply = armError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    }
    if (!reply && route?.provider && !API_VERSIONS[route.provider]?.includes(apiVersion as string)) {
      reply = armError(
        400,
        'NoRegisteredProviderFound',
        `No registered resource provider found for location and API version '${apiVersion}'. The supported api-versions are '${API_VERSIONS[route.provider]?.join(', ')}'.`,
      );
    }
    if (!reply && (req.method === 'PUT' || req.method === 'PATCH')) reply = tagsError(req.body);
    if (!reply) {
      settleOperations(world);
      // The resource as it was, for an operation that is to fail: ARM leaves the change unapplied.
      const failable = !isOpStatus && mayFailLro(knobs, op, req.path);
      const found = failable ? get(world, req.path) : undefined;
      const before = found ? structuredClone(found) : undefined;
      reply =
        (isOpStatus ? operationRoute(world, knobs, req) : undefined) ??
        (route && m
          ? await route.handle({ world, knobs, req, vaults, kubeconfig }, m)
          : armError(404, 'NotFound', `The lab Azure fake does not serve ${req.method} ${req.path}.`));
      const started = failable ? operationsStartedBy(req) : [];
      const failing = started.length ? drawFault(knobs, op, req.path, 'lro') : undefined;
      if (failing) {
        for (const operation of started) failOperation(world, operation, lroFailure(failing, op), req.path, before);
        rule ??= failing;
      }
    }
    const out = finalReply(reply, rule, op, req.path);
    record({ at: Date.now(), method: req.method, path: req.path, op, apiVersion, ...out.logged });
    store?.changed();
    send(res, out.reply);
  }

  const server = https.createServer(tls, (req, res) => {
    onArm(req, res, (server.address() as AddressInfo).port).catch((e: unknown) => {
      send(res, armError(500, 'InternalServerError', `lab fake: ${(e as Error).message}`));
    });
  });
  // A saved world's port when free: the operation URLs and endpoints handed out before the restart stay valid.
  await listen(server, o.port || saved?.armPort || 0, !o.port && saved?.armPort !== undefined);
  armPort = (server.address() as AddressInfo).port;
  origin = `https://127.0.0.1:${armPort}`;
  if (saved) await reopenVaults(world, vaults);
  return {
    armEndpoint: origin,
    world: () => world,
    async close() {
      // Nothing running is lost with a kept world: every operation in flight finishes before the last write.
      if (store) {
        finishRunningOperations(world);
        store.flush();
      }
      for (const n of [...vaultServers.keys()]) vaults.close(n);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Listens on loopback at `port`; with `orAny`, on a port of the kernel's choosing when that one is taken. */
async function listen(server: https.Server, port: number, orAny = true): Promise<void> {
  const attempt = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await attempt(port);
  } catch (e) {
    if (!orAny || port === 0 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    await attempt(0);
  }
}

/** The data plane of every vault of a loaded world, on its old port when free (else a new vaultUri). */
async function reopenVaults(world: World, vaults: Ctx['vaults']): Promise<void> {
  for (const resource of world.resources.values()) {
    if (resource.type.toLowerCase() !== 'microsoft.keyvault/vaults') continue;
    const props = resource.properties as { vaultUri?: string };
    const old = props.vaultUri ? Number(new URL(props.vaultUri).port) : 0;
    props.vaultUri = await vaults.open(resource.name, old);
  }
}
