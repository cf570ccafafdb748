/**
 * The clients of one Kubernetes call, from the cluster's kubeconfig: AKS's cluster credential in production
 * (`kubeconfigFor`), a file for other clusters and the lab (`kubeconfigFromFile`).
 *
 * One KubeConfig and client set per kubeconfig (its text and context), kept and reused by every call: building
 * them per activity, and the client library's new https.Agent per request (a TLS handshake and a parse of the CA
 * and client key for each), cost a fleet of 200 bindings CPU and hundreds of MB of worker memory (issue 11). A
 * kubeconfig that changes (a rotated cluster certificate) is new text, hence a new entry; old ones age out.
 */
import {
  AuthorizationV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  ServerConfiguration,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import { CREDSPEC_GROUP, CREDSPEC_PLURAL, CREDSPEC_VERSION } from '../../domain/credential-spec.js';
import { keepRecent } from '../../domain/recent-map.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import type { ClusterRef } from '../../contract/activities.js';

export interface KubernetesActivityDeps {
  /** The kubeconfig (YAML) for a cluster. Throw an ApplicationFailure to say whether a retry can help. */
  kubeconfigFor(cluster: ClusterRef): Promise<string>;
  /** A context of that kubeconfig to use instead of its current-context. */
  context?: string;
}

/** kubeconfigFor for a kubeconfig file (KUBECONFIG): every cluster reference maps to that file's cluster. */
export function kubeconfigFromFile(file: string): (cluster: ClusterRef) => Promise<string> {
  return async () => {
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      throw fatal(ErrorType.NotConfigured, `cannot read the kubeconfig file ${file}: ${(e as Error).message}`);
    }
  };
}

export interface Clients {
  /** The API server's URL, for messages. */
  server: string;
  custom: CustomObjectsApi;
  rbac: RbacAuthorizationV1Api;
  authz: AuthorizationV1Api;
  core: CoreV1Api;
}

/** The GMSACredentialSpec resource type, as CustomObjectsApi takes it. */
export const SPEC = { group: CREDSPEC_GROUP, version: CREDSPEC_VERSION, plural: CREDSPEC_PLURAL } as const;

/** Kubeconfigs kept: one per cluster (and context) a worker talks to; more only while certificates rotate. */
export const MAX_CACHED_KUBECONFIGS = 32;

interface Entry {
  clients: Clients;
  /** Closes the kept connections when the entry ages out. */
  close(): void;
}

const cache = new Map<string, Entry>();

/** What a client's https.Agent was asked for that makes its connections differ: a key, and one agent per key. */
const TLS_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized'] as const;

/**
 * The kubeconfig's own authentication (headers, exec or token plugins: applied per request as before), with the
 * https.Agent it makes per request swapped for one kept-alive agent per TLS setting, whose secure context (CA,
 * client certificate and key) is built once. Proxy agents (a cluster's proxy-url) are left as they come.
 */
function sharedAgentAuth(kc: KubeConfig): SecurityAuthentication & { close(): void } {
  const agents = new Map<string, http.Agent>();
  return {
    getName: () => 'kubeconfig with kept connections',
    async applySecurityAuthentication(context: RequestContext) {
      await kc.applySecurityAuthentication(context);
      const made = context.getAgent();
      const proto = made && Object.getPrototypeOf(made);
      if (proto !== https.Agent.prototype && proto !== http.Agent.prototype) return;
      const options = (made as http.Agent & { options: Record<string, unknown> }).options;
      const hash = createHash('sha256').update(proto === https.Agent.prototype ? 'https' : 'http');
      for (const name of TLS_OPTIONS) hash.update(`\0${name}=`).update(optionText(options[name]));
      const key = hash.digest('base64');
      let agent = agents.get(key);
      if (!agent) {
        agent =
          proto === https.Agent.prototype
            ? new https.Agent({
                keepAlive: true,
                secureContext: createSecureContext(options as Parameters<typeof createSecureContext>[0]),
                ...(options.servername !== undefined && { servername: options.servername as string }),
                ...(options.rejectUnauthorized !== undefined && {
                  rejectUnauthorized: options.rejectUnauthorized as boolean,
                }),
              })
            : new http.Agent({ keepAlive: true });
        agents.set(key, agent);
      }
      context.setAgent(agent);
    },
    close() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}

function optionText(v: unknown): string | Buffer {
  if (v === undefined || v === null) return '';
  if (Buffer.isBuffer(v) || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((x) => (Buffer.isBuffer(x) ? x.toString('base64') : String(x))).join('\0');
  return String(v);
}

function makeClients(yaml: string, context: string | undefined, cluster: ClusterRef): Entry {
  const kc = new KubeConfig();
  try {
    kc.loadFromString(yaml);
    if (context) kc.setCurrentContext(context);
  } catch (e) {
    throw fatal(
      ErrorType.NotConfigured,
      `the kubeconfig of cluster ${cluster.name} is invalid: ${(e as Error).message}`,
    );
  }
  const current = kc.getCurrentCluster();
  if (!current)
    throw fatal(ErrorType.NotConfigured, `the kubeconfig of cluster ${cluster.name} has no current cluster (context)`);
  // As KubeConfig.makeApiClient does, with the authentication above in place of the KubeConfig itself.
  const auth = sharedAgentAuth(kc);
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(current.server, {}),
    authMethods: { default: auth },
  });
  return {
    clients: {
      server: current.server,
      custom: new CustomObjectsApi(configuration),
      rbac: new RbacAuthorizationV1Api(configuration),
      authz: new AuthorizationV1Api(configuration),
      core: new CoreV1Api(configuration),
    },
    close: () => auth.close(),
  };
}

export async function connect(deps: KubernetesActivityDeps, cluster: ClusterRef): Promise<Clients> {
  let yaml: string;
  try {
    yaml = await deps.kubeconfigFor(cluster);
  } catch (e) {
    if (e instanceof ApplicationFailure) throw e;
    throw transient(
      `getting the kubeconfig of cluster ${cluster.name}: ${(e as Error).message}`,
      undefined,
      e as Error,
    );
  }
  const key = createHash('sha256')
    .update(deps.context ?? '')
    .update('\0')
    .update(yaml)
    .digest('base64');
  const entry = cache.get(key) ?? makeClients(yaml, deps.context, cluster);
  for (const gone of keepRecent(cache, key, entry, MAX_CACHED_KUBECONFIGS)) gone.close();
  return entry.clients;
}

/** How many kubeconfigs have a client set kept (tests). */
export const cachedKubeconfigs = () => cache.size;
