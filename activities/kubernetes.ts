/**
 * The cluster half: the GMSACredentialSpec resource, the RBAC that lets one service account `use` it, and the proof
 * that it may (a SubjectAccessReview the API server answers with the same authorizer the gMSA webhook asks).
 *
 * Every call reads first and writes only what differs, so a rerun changes nothing (kubernetes/ensure-object.ts).
 * The kubeconfig comes from `kubeconfigFor`: AKS's cluster credential in production, a file for other clusters and
 * the lab. One file per concern under kubernetes/: client, errors, ensure-object, credential-spec, rbac, removal,
 * access-review.
 */
import {
  buildCredentialSpec,
  buildCredentialSpecRbac,
  CredentialSpecInputError,
  rbacTargetProblems,
} from '../domain/credential-spec.js';
import { ErrorType, fatal } from '../contract/errors.js';
import type {
  CredentialSpecResult,
  EnsureCredentialSpecInput,
  RemoveCredentialSpecInput,
  RemoveCredentialSpecResult,
} from '../contract/activities.js';
import {
  canUseCredentialSpec,
  type CanUseCredentialSpecInput,
  type CanUseCredentialSpecResult,
} from './kubernetes/access-review.js';
import { connect, type KubernetesActivityDeps } from './kubernetes/client.js';
import { ensureSpec } from './kubernetes/credential-spec.js';
import { ownedByOther, ownedElsewhere } from './kubernetes/ensure-object.js';
import { readOrUndefined, toFailure } from './kubernetes/errors.js';
import { ensureClusterRole, ensureRoleBinding } from './kubernetes/rbac.js';
import { removeCredentialSpec } from './kubernetes/removal.js';

export { kubeconfigFromFile, type KubernetesActivityDeps } from './kubernetes/client.js';
export type { CanUseCredentialSpecInput, CanUseCredentialSpecResult } from './kubernetes/access-review.js';

export interface KubernetesActivities {
  ensureCredentialSpec(input: EnsureCredentialSpecInput): Promise<CredentialSpecResult>;
  removeCredentialSpec(input: RemoveCredentialSpecInput): Promise<RemoveCredentialSpecResult>;
  canUseCredentialSpec(input: CanUseCredentialSpecInput): Promise<CanUseCredentialSpecResult>;
}

const invalid = (e: unknown) =>
  e instanceof CredentialSpecInputError ? fatal(ErrorType.InvalidInput, e.message) : (e as Error);

export function createKubernetesActivities(deps: KubernetesActivityDeps): KubernetesActivities {
  return {
    async ensureCredentialSpec(input) {
      let spec: ReturnType<typeof buildCredentialSpec>;
      let rbac: ReturnType<typeof buildCredentialSpecRbac>;
      try {
        spec = buildCredentialSpec(input);
        rbac = buildCredentialSpecRbac({ specName: input.specName, ...input.rbac });
      } catch (e) {
        throw invalid(e);
      }
      const c = await connect(deps, input.cluster);
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
      return removeCredentialSpec(await connect(deps, input.cluster), input);
    },

    async canUseCredentialSpec(input) {
      const problems = rbacTargetProblems(input);
      if (problems.length > 0) throw invalid(new CredentialSpecInputError(problems));
      return canUseCredentialSpec(await connect(deps, input.cluster), input);
    },
  };
}
