/**
 * Whether a service account may `use` a credential spec, asked the way the gMSA admission webhook asks: a
 * SubjectAccessReview the API server answers with its own authorizer.
 */
import { CREDSPEC_GROUP, CREDSPEC_PLURAL, CREDSPEC_VERSION, serviceAccountUser } from '../../domain/credential-spec.js';
import type { ClusterRef } from '../../contract/activities.js';
import type { Clients } from './client.js';
import { toFailure } from './errors.js';

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

export async function canUseCredentialSpec(
  c: Clients,
  input: CanUseCredentialSpecInput,
): Promise<CanUseCredentialSpecResult> {
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
}
