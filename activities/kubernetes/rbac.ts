/**
 * The RBAC that lets one service account `use` one credential spec: a ClusterRole naming the spec, and a RoleBinding
 * of it in the pods' namespace. Both are read and decided before anything is written (see the activity), so
 * `current` here is what that read found; options.adopt `rbac` adopts either.
 */
import type { V1ClusterRole, V1RoleBinding } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { ClusterRoleManifest, RoleBindingManifest } from '../../domain/credential-spec.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import type { Clients } from './client.js';
import type { Owner } from '../../domain/ownership.js';
import { plan, type EnsureOutcome, type Plan } from './ensure-object.js';
import { isApi, toFailure } from './errors.js';

const normalizeRules = (rules: V1ClusterRole['rules']) =>
  (rules ?? []).map((r) => ({
    apiGroups: r.apiGroups ?? [],
    resources: r.resources ?? [],
    verbs: r.verbs ?? [],
    resourceNames: r.resourceNames ?? [],
  }));

/** A plan's write with the failure named: a write error becomes one of the two failure classes. */
const named = <S>(p: Plan<S>, what: string, server: string): Plan<S> => ({
  ...p,
  write: async (): Promise<EnsureOutcome<S>> => {
    try {
      return await p.write();
    } catch (e) {
      throw toFailure(e, what, server);
    }
  },
});

/** Decides now about `current` (throws to refuse); writes on `write()`. */
export function planClusterRole(
  c: Clients,
  wanted: ClusterRoleManifest,
  current: V1ClusterRole | undefined,
  owner: Owner,
): Plan<V1ClusterRole> {
  const name = wanted.metadata.name;
  return named(
    plan(
      {
        kind: 'ClusterRole',
        name,
        adopt: 'rbac',
        // An aggregated role's rules are the controller's to fill in: ours has none, so one with it is converged.
        same: (r: V1ClusterRole) => isDeepStrictEqual(normalizeRules(r.rules), wanted.rules) && !r.aggregationRule,
      },
      wanted,
      current,
      owner,
      {
        create: (body) => c.rbac.createClusterRole({ body }),
        replace: (body) => c.rbac.replaceClusterRole({ name, body }),
      },
    ),
    `ensuring ClusterRole ${name}`,
    c.server,
  );
}

/** Decides now about `current` (throws to refuse); writes on `write()`. */
export function planRoleBinding(
  c: Clients,
  wanted: RoleBindingManifest,
  current: V1RoleBinding | undefined,
  owner: Owner,
): Plan<V1RoleBinding> {
  const { name, namespace } = wanted.metadata;
  const sameRef = (b: V1RoleBinding) =>
    isDeepStrictEqual({ apiGroup: b.roleRef.apiGroup, kind: b.roleRef.kind, name: b.roleRef.name }, wanted.roleRef);
  const sameSubjects = (b: V1RoleBinding) =>
    isDeepStrictEqual(
      (b.subjects ?? []).map((s) => ({ kind: s.kind, name: s.name, namespace: s.namespace })),
      wanted.subjects,
    );
  return named(
    plan(
      {
        kind: 'RoleBinding',
        name: `${namespace}/${name}`,
        adopt: 'rbac',
        same: (b: V1RoleBinding) => sameRef(b) && sameSubjects(b),
        // roleRef is immutable: a binding to another role has to be recreated.
        immutableDiffers: (b: V1RoleBinding) => !sameRef(b),
      },
      wanted,
      current,
      owner,
      {
        create: async (body) => {
          try {
            return await c.rbac.createNamespacedRoleBinding({ namespace, body });
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
        },
        replace: (body) => c.rbac.replaceNamespacedRoleBinding({ name, namespace, body }),
        remove: () => c.rbac.deleteNamespacedRoleBinding({ name, namespace }),
      },
    ),
    `ensuring RoleBinding ${namespace}/${name}`,
    c.server,
  );
}
