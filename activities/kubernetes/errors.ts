/** What a Kubernetes call's failure means to the workflow: the two failure classes, naming what was being done. */
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { CREDSPEC_GROUP, CREDSPEC_PLURAL, CREDSPEC_VERSION } from '../../domain/credential-spec.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import {
  headerOf,
  isTransientNetworkCode,
  networkCode,
  retryAfterMs,
  UNRESOLVABLE_HOST_CODE,
} from '../../contract/retry.js';

interface K8sStatus {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string };
}

export function statusOf(e: ApiException<unknown>): K8sStatus {
  if (typeof e.body === 'object' && e.body !== null) return e.body as K8sStatus;
  try {
    return JSON.parse(String(e.body)) as K8sStatus;
  } catch {
    return { message: String(e.body).trim().slice(0, 300) };
  }
}

export const isApi = (e: unknown, code: number): e is ApiException<unknown> =>
  e instanceof ApiException && e.code === code;

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|HOSTNAME/;

/** Maps any error of a Kubernetes call to the two failure classes, naming what was being done. */
export function toFailure(e: unknown, what: string, server = 'the API server'): ApplicationFailure {
  if (e instanceof ApplicationFailure) return e;
  if (e instanceof ApiException) {
    const s = statusOf(e);
    const msg = `${what}: HTTP ${e.code}${s.reason ? ` ${s.reason}` : ''}: ${s.message ?? 'no message'}`;
    if (e.code === 429 || e.code >= 500) return transient(msg, retryAfterMs(headerOf(e.headers)), e);
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
  const code = networkCode(err);
  if (TLS_CODES.test(code))
    return fatal(ErrorType.NotConfigured, `${what}: TLS with ${server} failed (${code}): ${err.message}`, err);
  if (code === UNRESOLVABLE_HOST_CODE)
    return fatal(
      ErrorType.NotConfigured,
      `${what}: the host name of ${server} does not resolve (${err.message}); check the kubeconfig's server`,
      err,
    );
  if (isTransientNetworkCode(code) || err.name === 'FetchError' || err.name === 'AbortError')
    return transient(`${what}: cannot reach ${server}: ${err.message}`, undefined, err);
  return transient(`${what}: ${err.message}`, undefined, err);
}

export function notEnabled(server: string): ApplicationFailure {
  return fatal(
    ErrorType.PreconditionFailed,
    `gMSA is not enabled on this cluster: ${server} does not serve ${CREDSPEC_GROUP}/${CREDSPEC_VERSION} ` +
      `${CREDSPEC_PLURAL} (the GMSACredentialSpec CRD is missing). On AKS, enable gMSA (az aks update ` +
      `--enable-windows-gmsa, or options.enableGmsaOnCluster: true in the request) and rerun; on another cluster, ` +
      `install the windows-gmsa admission webhook with its CRD first.`,
  );
}

/** A 404 for the object itself names it in details; a 404 for an unserved resource type does not. */
export const resourceTypeMissing = (e: unknown) => isApi(e, 404) && !statusOf(e).details?.name;

/** The object, or undefined when the API server says 404. */
export async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (isApi(e, 404)) return undefined;
    throw e;
  }
}
