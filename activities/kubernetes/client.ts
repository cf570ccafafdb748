/**
 * The clients of one Kubernetes call, from the cluster's kubeconfig: AKS's cluster credential in production
 * (`kubeconfigFor`), a file for other clusters and the lab (`kubeconfigFromFile`).
 */
import { AuthorizationV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { readFile } from 'node:fs/promises';
import { CREDSPEC_GROUP, CREDSPEC_PLURAL, CREDSPEC_VERSION } from '../../domain/credential-spec.js';
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
}

/** The GMSACredentialSpec resource type, as CustomObjectsApi takes it. */
export const SPEC = { group: CREDSPEC_GROUP, version: CREDSPEC_VERSION, plural: CREDSPEC_PLURAL } as const;

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
    throw fatal(ErrorType.NotConfigured, `the kubeconfig of cluster ${cluster.name} has no current cluster (context)`);
  return {
    server: current.server,
    custom: kc.makeApiClient(CustomObjectsApi),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    authz: kc.makeApiClient(AuthorizationV1Api),
  };
}
