/**
 * The cluster half: the GMSACredentialSpec resource, the RBAC that lets one service account `use` it, and the proof
 * that it may (a SubjectAccessReview the API server answers with the same authorizer the gMSA webhook asks).
 *
 * Every call reads first and writes only what differs, so a rerun changes nothing. The kubeconfig comes from
 * `kubeconfigFor`: AKS's cluster credential in production, a file for other clusters and the lab.
 */
import {
  ApiException,
  AuthorizationV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1ClusterRole,
  type V1RoleBinding,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  buildCredentialSpec,
  buildCredentialSpecRbac,
  CREDSPEC_GROUP,
  CREDSPEC_PLURAL,
  CREDSPEC_VERSION,
  CredentialSpecInputError,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  rbacTargetProblems,
  roleBindingName,
  clusterRoleName,
  serviceAccountUser,
  type ClusterRoleManifest,
  type GmsaCredentialSpecResource,
  type RoleBindingManifest,
} from '../domain/credential-spec.js';
import { ErrorType, fatal, transient } from '../contract/errors.js';
import type { ClusterRef, CredentialSpecResult, EnsureCredentialSpecInput } from '../contract/activities.js';

export interface KubernetesActivityDeps {
  /** The kubeconfig (YAML) for a cluster. Throw an ApplicationFailure to say whether a retry can help. */
  kubeconfigFor(cluster: ClusterRef): Promise<string>;
  /** A context of that kubeconfig to use instead of its current-context. */
  context?: string;
}

import type { RemoveCredentialSpecInput, RemoveCredentialSpecResult } from '../contract/activities.js';

export interface CanUseCredentialSpecInput {
  cluster: ClusterRef;
  specName: string;
  namespace: string;
  serviceAccount: string;
}

export interface CanUseCredentialSpecResult {
  allowed: boolean;
  /** The authorizer's reason, e.g. which RoleBinding allowed it. */
  reason: string;
}

export interface KubernetesActivities {
  ensureCredentialSpec(input: EnsureCredentialSpecInput): Promise<CredentialSpecResult>;
  removeCredentialSpec(input: RemoveCredentialSpecInput): Promise<RemoveCredentialSpecResult>;
  canUseCredentialSpec(input: CanUseCredentialSpecInput): Promise<CanUseCredentialSpecResult>;
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

// ---- errors -----------------------------------------------------------------------------------------------------

interface K8sStatus {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string };
}

function statusOf(e: ApiException<unknown>): K8sStatus {
  if (typeof e.body === 'object' && e.body !== null) return e.body as K8sStatus;
  try {
    return JSON.parse(String(e.body)) as K8sStatus;
  } catch {
    return { message: String(e.body).trim().slice(0, 300) };
  }
}

const isApi = (e: unknown, code: number): e is ApiException<unknown> => e instanceof ApiException && e.code === code;

function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  const v = headers?.['retry-after'] ?? headers?.['Retry-After'];
  const seconds = v === undefined ? NaN : Number(v);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

// Connection-level failures that a later attempt may not meet; TLS trust problems are configuration instead.
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|HOSTNAME/;

/** Maps any error of a Kubernetes call to the two failure classes, naming what was being done. */
export function toFailure(e: unknown, what: string, server = 'the API server'): ApplicationFailure {
  if (e instanceof ApplicationFailure) return e;
  if (e instanceof ApiException) {
    const s = statusOf(e);
    const msg = `${what}: HTTP ${e.code}${s.reason ? ` ${s.reason}` : ''}: ${s.message ?? 'no message'}`;
    if (e.code === 429 || e.code >= 500) return transient(msg, retryAfterMs(e.headers), e);
    // A 409 left over here is an update that lost a race (stale resourceVersion): reading again converges.
    if (e.code === 409) return transient(msg, undefined, e);
    if (e.code === 401)
      return fatal(ErrorType.Unauthorized, `${msg} (the kubeconfig's credentials were rejected by ${server})`, e);
    if (e.code === 403)
      return fatal(
        ErrorType.Forbidden,
        `${msg} (the kubeconfig's identity needs get/create/update/delete on gmsacredentialspecs, clusterroles and ` +
          `rolebindings, create on subjectaccessreviews, and escalate/bind or the rights it grants)`,
        e,
      );
    if (e.code === 404) return fatal(ErrorType.NotFound, msg, e);
    return fatal(ErrorType.InvalidInput, msg, e);
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const code = String((err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code ?? '');
  if (TLS_CODES.test(code))
    return fatal(ErrorType.NotConfigured, `${what}: TLS with ${server} failed (${code}): ${err.message}`, err);
  if (TRANSIENT_CODES.has(code) || err.name === 'FetchError' || err.name === 'AbortError')
    return transient(`${what}: cannot reach ${server}: ${err.message}`, undefined, err);
  return transient(`${what}: ${err.message}`, undefined, err);
}

function notEnabled(server: string): ApplicationFailure {
  return fatal(
    ErrorType.PreconditionFailed,
    `gMSA is not enabled on this cluster: ${server} does not serve ${CREDSPEC_GROUP}/${CREDSPEC_VERSION} ` +
      `${CREDSPEC_PLURAL} (the GMSACredentialSpec CRD is missing). On AKS, enable gMSA (az aks update ` +
      `--enable-windows-gmsa, or options.enableGmsaOnCluster: true in the request) and rerun; on another cluster, ` +
      `install the windows-gmsa admission webhook with its CRD first.`,
  );
}

// ---- the clients of one call ------------------------------------------------------------------------------------

interface Clients {
  server: string;
  custom: CustomObjectsApi;
  rbac: RbacAuthorizationV1Api;
  authz: AuthorizationV1Api;
}

const SPEC = { group: CREDSPEC_GROUP, version: CREDSPEC_VERSION, plural: CREDSPEC_PLURAL } as const;
const mine = (labels: Record<string, string> | undefined) => labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
/** Something else (Helm, another tool) claims the object: converging it would fight that owner. */
const ownedByOther = (labels: Record<string, string> | undefined) =>
  labels?.[MANAGED_BY_LABEL] !== undefined && !mine(labels);

function ownedElsewhere(kind: string, name: string, labels: Record<string, string> | undefined): ApplicationFailure {
  return fatal(
    ErrorType.Conflict,
    `${kind} "${name}" exists and is managed by "${labels?.[MANAGED_BY_LABEL]}", not ${MANAGED_BY}; choose another ` +
      `credential spec name or remove that ${kind}`,
  );
}

async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (isApi(e, 404)) return undefined;
    throw e;
  }
}

/** A 404 for the object itself names it in details; a 404 for an unserved resource type does not. */
const resourceTypeMissing = (e: unknown) => isApi(e, 404) && !statusOf(e).details?.name;

interface StoredSpec {
  metadata?: { resourceVersion?: string; labels?: Record<string, string> };
  credspec?: unknown;
}

async function ensureSpec(
  c: Clients,
  wanted: GmsaCredentialSpecResource,
): Promise<{ resourceVersion: string; changed: boolean }> {
  const name = wanted.metadata.name;
  for (let attempt = 1; ; attempt++) {
    let current: StoredSpec | undefined;
    try {
      current = await readOrUndefined(() => c.custom.getClusterCustomObject({ ...SPEC, name }) as Promise<StoredSpec>);
    } catch (e) {
      if (resourceTypeMissing(e)) throw notEnabled(c.server);
      throw toFailure(e, `reading GMSACredentialSpec ${name}`, c.server);
    }
    try {
      if (!current) {
        // Strict: a field the CRD's schema does not know is an error, not silently pruned.
        const created = (await c.custom.createClusterCustomObject({
          ...SPEC,
          body: wanted,
          fieldValidation: 'Strict',
        })) as StoredSpec;
        return { resourceVersion: created.metadata?.resourceVersion ?? '', changed: true };
      }
      const labels = current.metadata?.labels;
      if (ownedByOther(labels)) throw ownedElsewhere('GMSACredentialSpec', name, labels);
      // A spec made by hand or by the PowerShell module (no label) is adopted and converged.
      if (mine(labels) && isDeepStrictEqual(current.credspec, wanted.credspec))
        return { resourceVersion: current.metadata?.resourceVersion ?? '', changed: false };
      const replaced = (await c.custom.replaceClusterCustomObject({
        ...SPEC,
        name,
        body: {
          ...wanted,
          metadata: {
            ...wanted.metadata,
            labels: { ...labels, ...wanted.metadata.labels },
            resourceVersion: current.metadata?.resourceVersion,
          },
        },
        fieldValidation: 'Strict',
      })) as StoredSpec;
      return { resourceVersion: replaced.metadata?.resourceVersion ?? '', changed: true };
    } catch (e) {
      // Someone created or changed it between our read and write: read again once.
      if (attempt === 1 && isApi(e, 409)) continue;
      if (resourceTypeMissing(e)) throw notEnabled(c.server);
      if (isApi(e, 422) || isApi(e, 400))
        throw fatal(
          ErrorType.InvalidInput,
          `the cluster's GMSACredentialSpec schema rejected the document: ${statusOf(e).message ?? e.body}`,
          e,
        );
      throw toFailure(e, `writing GMSACredentialSpec ${name}`, c.server);
    }
  }
}

const normalizeRules = (rules: V1ClusterRole['rules']) =>
  (rules ?? []).map((r) => ({
    apiGroups: r.apiGroups ?? [],
    resources: r.resources ?? [],
    verbs: r.verbs ?? [],
    resourceNames: r.resourceNames ?? [],
  }));

/** `current` is what preflight read (undefined: absent). */
async function ensureClusterRole(
  c: Clients,
  wanted: ClusterRoleManifest,
  current: V1ClusterRole | undefined,
): Promise<boolean> {
  const name = wanted.metadata.name;
  try {
    if (!current) {
      await c.rbac.createClusterRole({ body: wanted });
      return true;
    }
    const labels = current.metadata?.labels;
    if (ownedByOther(labels)) throw ownedElsewhere('ClusterRole', name, labels);
    if (mine(labels) && isDeepStrictEqual(normalizeRules(current.rules), wanted.rules) && !current.aggregationRule)
      return false;
    await c.rbac.replaceClusterRole({
      name,
      body: {
        ...wanted,
        metadata: {
          ...wanted.metadata,
          labels: { ...labels, ...wanted.metadata.labels },
          resourceVersion: current.metadata?.resourceVersion,
        },
      },
    });
    return true;
  } catch (e) {
    throw toFailure(e, `ensuring ClusterRole ${name}`, c.server);
  }
}

async function ensureRoleBinding(
  c: Clients,
  wanted: RoleBindingManifest,
  current: V1RoleBinding | undefined,
): Promise<boolean> {
  const { name, namespace } = wanted.metadata;
  const create = async () => {
    try {
      await c.rbac.createNamespacedRoleBinding({ namespace, body: wanted });
    } catch (e) {
      if (isApi(e, 404))
        throw fatal(
          ErrorType.NotFound,
          `namespace "${namespace}" does not exist on the cluster: create it, or choose an existing one in ` +
            `options.rbac.namespace (the namespace of the pods that use the credential spec)`,
          e,
        );
      throw e;
    }
  };
  try {
    if (!current) {
      await create();
      return true;
    }
    const labels = current.metadata?.labels;
    if (ownedByOther(labels)) throw ownedElsewhere('RoleBinding', `${namespace}/${name}`, labels);
    const subjects = (current.subjects ?? []).map((s) => ({ kind: s.kind, name: s.name, namespace: s.namespace }));
    const sameRef = isDeepStrictEqual(
      { apiGroup: current.roleRef.apiGroup, kind: current.roleRef.kind, name: current.roleRef.name },
      wanted.roleRef,
    );
    if (mine(labels) && sameRef && isDeepStrictEqual(subjects, wanted.subjects)) return false;
    if (!sameRef) {
      // roleRef is immutable: the binding has to be recreated.
      await c.rbac.deleteNamespacedRoleBinding({ name, namespace });
      await create();
      return true;
    }
    await c.rbac.replaceNamespacedRoleBinding({
      name,
      namespace,
      body: {
        ...wanted,
        metadata: {
          ...wanted.metadata,
          labels: { ...labels, ...wanted.metadata.labels },
          resourceVersion: current.metadata?.resourceVersion,
        },
      },
    });
    return true;
  } catch (e) {
    throw toFailure(e, `ensuring RoleBinding ${namespace}/${name}`, c.server);
  }
}

// ---- the activities ---------------------------------------------------------------------------------------------

export function createKubernetesActivities(deps: KubernetesActivityDeps): KubernetesActivities {
  async function clients(cluster: ClusterRef): Promise<Clients> {
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
    const kc = new KubeConfig();
    try {
      kc.loadFromString(yaml);
      if (deps.context) kc.setCurrentContext(deps.context);
    } catch (e) {
      throw fatal(
        ErrorType.NotConfigured,
        `the kubeconfig of cluster ${cluster.name} is invalid: ${(e as Error).message}`,
      );
    }
    const current = kc.getCurrentCluster();
    if (!current)
      throw fatal(
        ErrorType.NotConfigured,
        `the kubeconfig of cluster ${cluster.name} has no current cluster (context)`,
      );
    return {
      server: current.server,
      custom: kc.makeApiClient(CustomObjectsApi),
      rbac: kc.makeApiClient(RbacAuthorizationV1Api),
      authz: kc.makeApiClient(AuthorizationV1Api),
    };
  }

  const invalid = (e: unknown) =>
    e instanceof CredentialSpecInputError ? fatal(ErrorType.InvalidInput, e.message) : (e as Error);

  return {
    async ensureCredentialSpec(input) {
      let spec: GmsaCredentialSpecResource;
      let rbac: ReturnType<typeof buildCredentialSpecRbac>;
      try {
        spec = buildCredentialSpec(input);
        rbac = buildCredentialSpecRbac({ specName: input.specName, ...input.rbac });
      } catch (e) {
        throw invalid(e);
      }
      const c = await clients(input.cluster);
      // Read the RBAC objects first, so a name another tool owns fails the step before anything is written.
      const { name: roleName } = rbac.clusterRole.metadata;
      const { name: bindingName, namespace } = rbac.roleBinding.metadata;
      const [role, binding] = await Promise.all([
        readOrUndefined(() => c.rbac.readClusterRole({ name: roleName })).catch((e: unknown) => {
          throw toFailure(e, `reading ClusterRole ${roleName}`, c.server);
        }),
        readOrUndefined(() => c.rbac.readNamespacedRoleBinding({ name: bindingName, namespace })).catch(
          (e: unknown) => {
            throw toFailure(e, `reading RoleBinding ${namespace}/${bindingName}`, c.server);
          },
        ),
      ]);
      if (ownedByOther(role?.metadata?.labels)) throw ownedElsewhere('ClusterRole', roleName, role?.metadata?.labels);
      if (ownedByOther(binding?.metadata?.labels))
        throw ownedElsewhere('RoleBinding', `${namespace}/${bindingName}`, binding?.metadata?.labels);
      // Then the spec: on a cluster without gMSA nothing else is created. The binding last, once its role exists
      // (binding a missing role needs the `bind` verb, which a cluster user may lack).
      const stored = await ensureSpec(c, spec);
      const roleChanged = await ensureClusterRole(c, rbac.clusterRole, role);
      const bindingChanged = await ensureRoleBinding(c, rbac.roleBinding, binding);
      return {
        name: spec.metadata.name,
        resourceVersion: stored.resourceVersion,
        clusterRole: rbac.clusterRole.metadata.name,
        roleBinding: { namespace: rbac.roleBinding.metadata.namespace, name: rbac.roleBinding.metadata.name },
        changed: stored.changed || roleChanged || bindingChanged,
      };
    },

    async removeCredentialSpec(input) {
      const problems = rbacTargetProblems({ specName: input.specName, ...input.rbac });
      if (problems.length > 0) throw invalid(new CredentialSpecInputError(problems));
      const c = await clients(input.cluster);
      const { namespace, serviceAccount } = input.rbac;
      const removed: string[] = [];
      const kept: string[] = [];
      // Each: read (absent: nothing to do), delete only what carries this product's label.
      const remove = async (
        label: string,
        read: () => Promise<{ metadata?: { labels?: Record<string, string> } }>,
        del: () => Promise<unknown>,
      ) => {
        try {
          const current = await readOrUndefined(read);
          if (!current) return;
          if (!mine(current.metadata?.labels)) {
            kept.push(label);
            return;
          }
          await del();
          removed.push(label);
        } catch (e) {
          if (isApi(e, 404)) return; // gone meanwhile, or no CRD: nothing of ours there
          throw toFailure(e, `removing ${label}`, c.server);
        }
      };
      const binding = roleBindingName(input.specName, serviceAccount);
      const role = clusterRoleName(input.specName);
      await remove(
        `RoleBinding/${namespace}/${binding}`,
        () => c.rbac.readNamespacedRoleBinding({ name: binding, namespace }),
        () => c.rbac.deleteNamespacedRoleBinding({ name: binding, namespace }),
      );
      await remove(
        `ClusterRole/${role}`,
        () => c.rbac.readClusterRole({ name: role }),
        () => c.rbac.deleteClusterRole({ name: role }),
      );
      await remove(
        `GMSACredentialSpec/${input.specName}`,
        () => c.custom.getClusterCustomObject({ ...SPEC, name: input.specName }) as Promise<StoredSpec>,
        () => c.custom.deleteClusterCustomObject({ ...SPEC, name: input.specName }),
      );
      return { removed, kept };
    },

    async canUseCredentialSpec(input) {
      const problems = rbacTargetProblems(input);
      if (problems.length > 0) throw invalid(new CredentialSpecInputError(problems));
      const c = await clients(input.cluster);
      // What the webhook asks (as a LocalSubjectAccessReview) when a pod of this service account names the spec.
      const { user, groups } = serviceAccountUser(input.namespace, input.serviceAccount);
      try {
        const review = await c.authz.createSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user,
              groups,
              resourceAttributes: {
                verb: 'use',
                group: CREDSPEC_GROUP,
                version: CREDSPEC_VERSION,
                resource: CREDSPEC_PLURAL,
                name: input.specName,
                namespace: input.namespace,
              },
            },
          },
        });
        const allowed = review.status?.allowed === true && review.status.denied !== true;
        const reason =
          review.status?.reason ||
          review.status?.evaluationError ||
          (allowed ? 'allowed' : `${user} may not use ${CREDSPEC_PLURAL}/${input.specName} (no matching RBAC rule)`);
        return { allowed, reason };
      } catch (e) {
        throw toFailure(e, `asking whether ${user} may use credential spec ${input.specName}`, c.server);
      }
    },
  };
}
