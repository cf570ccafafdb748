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
import { ApplicationFailure } from '@temporalio/common';
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
import { findSpec, planSpec } from './kubernetes/credential-spec.js';
import { readOrUndefined, toFailure } from './kubernetes/errors.js';
import { planClusterRole, planRoleBinding } from './kubernetes/rbac.js';
import { removeCredentialSpec } from './kubernetes/removal.js';
import { ownerOf } from './owner.js';

export { kubeconfigFromFile, type KubernetesActivityDeps } from './kubernetes/client.js';
export type { CanUseCredentialSpecInput, CanUseCredentialSpecResult } from './kubernetes/access-review.js';

export interface KubernetesActivities {
  ensureCredentialSpec(input: EnsureCredentialSpecInput): Promise<CredentialSpecResult>;
  removeCredentialSpec(input: RemoveCredentialSpecInput): Promise<RemoveCredentialSpecResult>;
  canUseCredentialSpec(input: CanUseCredentialSpecInput): Promise<CanUseCredentialSpecResult>;
}

const invalid = (e: unknown) =>
  e instanceof CredentialSpecInputError ? fatal(ErrorType.InvalidInput, e.message) : (e as Error);

/** Every plan, or one refusal naming every object refused (so one rerun with the right options.adopt suffices). */
function decideAll<T extends readonly (() => unknown)[]>(decisions: T): { [K in keyof T]: ReturnType<T[K]> } {
  const refusals: ApplicationFailure[] = [];
  const plans = decisions.map((d) => {
    try {
      return d();
    } catch (e) {
      if (!(e instanceof ApplicationFailure) || e.type !== ErrorType.Conflict) throw e;
      refusals.push(e);
      return undefined;
    }
  });
  if (refusals.length === 1) throw refusals[0];
  if (refusals.length > 1) throw fatal(ErrorType.Conflict, refusals.map((e) => e.message).join('. '));
  return plans as { [K in keyof T]: ReturnType<T[K]> };
}

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
      // Read all three, then decide all three: an object that is not this binding's fails the step before anything
      // is written. The owner is taken after the reads, so a cluster without gMSA says so whatever the input.
      const { name: roleName } = rbac.clusterRole.metadata;
      const { name: bindingName, namespace } = rbac.roleBinding.metadata;
      const [specNow, roleNow, bindingNow] = await Promise.all([
        findSpec(c, spec.metadata.name),
        readOrUndefined(() => c.rbac.readClusterRole({ name: roleName })).catch((e: unknown) => {
          throw toFailure(e, `reading ClusterRole ${roleName}`, c.server);
        }),
        readOrUndefined(() => c.rbac.readNamespacedRoleBinding({ name: bindingName, namespace })).catch(
          (e: unknown) => {
            throw toFailure(e, `reading RoleBinding ${namespace}/${bindingName}`, c.server);
          },
        ),
      ]);
      const owner = ownerOf(input);
      const [specPlan, rolePlan, bindingPlan] = decideAll([
        () => planSpec(c, spec, specNow, owner),
        () => planClusterRole(c, rbac.clusterRole, roleNow, owner),
        () => planRoleBinding(c, rbac.roleBinding, bindingNow, owner),
      ] as const);
      const plans = [specPlan, rolePlan, bindingPlan];
      // In this order: on a cluster that refuses the spec nothing else is created, and the binding comes once its
      // role exists (binding a missing role needs the `bind` verb, which a cluster user may lack).
      const stored = await specPlan.write();
      const outcomes = [stored, await rolePlan.write(), await bindingPlan.write()];
      const adopted = [...new Set(plans.flatMap((p, i) => (outcomes[i]!.adopted ? [p.kind] : [])))];
      return {
        name: spec.metadata.name,
        resourceVersion: stored.stored.metadata?.resourceVersion ?? '',
        clusterRole: roleName,
        roleBinding: { namespace, name: bindingName },
        // Only what this attempt wrote: a rerun after a lost reply finds its own objects and writes nothing.
        changed: outcomes.some((o) => o.changed),
        ...(adopted.length > 0 ? { adopted } : {}),
      };
    },

    async removeCredentialSpec(input) {
      const problems = rbacTargetProblems({ specName: input.specName, ...input.rbac });
      if (problems.length > 0) throw invalid(new CredentialSpecInputError(problems));
      // The owner is needed only to judge an object that exists (ownerOf fails outside a workflow without one).
      return removeCredentialSpec(await connect(deps, input.cluster), input, () => ownerOf(input));
    },

    async canUseCredentialSpec(input) {
      const problems = rbacTargetProblems(input);
      if (problems.length > 0) throw invalid(new CredentialSpecInputError(problems));
      return canUseCredentialSpec(await connect(deps, input.cluster), input);
    },
  };
}
