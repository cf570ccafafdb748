/**
 * The RBAC that lets one service account `use` one credential spec: a ClusterRole naming the spec, and a RoleBinding
 * of it in the pods' namespace. Both are read before anything is written (see the activity), so `current` here is
 * what that read found.
 */
import type { V1ClusterRole, V1RoleBinding } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { ClusterRoleManifest, RoleBindingManifest } from '../../domain/credential-spec.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import type { Clients } from './client.js';
import { ensureObject } from './ensure-object.js';
import { isApi, toFailure } from './errors.js';

const normalizeRules = (rules: V1ClusterRole['rules']) =>
  (rules ?? []).map((r) => ({
    apiGroups: r.apiGroups ?? [],
    resources: r.resources ?? [],
    verbs: r.verbs ?? [],
    resourceNames: r.resourceNames ?? [],
  }));

export async function ensureClusterRole(
  c: Clients,
  wanted: ClusterRoleManifest,
  current: V1ClusterRole | undefined,
): Promise<boolean> {
  const name = wanted.metadata.name;
  try {
    const { changed } = await ensureObject(
      {
        kind: 'ClusterRole',
        name,
        // An aggregated role's rules are the controller's to fill in: ours has none, so one with it is converged.
        same: (r: V1ClusterRole) => isDeepStrictEqual(normalizeRules(r.rules), wanted.rules) && !r.aggregationRule,
      },
      wanted,
      current,
      {
        create: (body) => c.rbac.createClusterRole({ body }),
        replace: (body) => c.rbac.replaceClusterRole({ name, body }),
      },
    );
    return changed;
  } catch (e) {
    throw toFailure(e, `ensuring ClusterRole ${name}`, c.server);
  }
}

export async function ensureRoleBinding(
  c: Clients,
  wanted: RoleBindingManifest,
  current: V1RoleBinding | undefined,
): Promise<boolean> {
  const { name, namespace } = wanted.metadata;
  const sameRef = (b: V1RoleBinding) =>
    isDeepStrictEqual({ apiGroup: b.roleRef.apiGroup, kind: b.roleRef.kind, name: b.roleRef.name }, wanted.roleRef);
  const sameSubjects = (b: V1RoleBinding) =>
    isDeepStrictEqual(
      (b.subjects ?? []).map((s) => ({ kind: s.kind, name: s.name, namespace: s.namespace })),
      wanted.subjects,
    );
  try {
    const { changed } = await ensureObject(
      {
        kind: 'RoleBinding',
        name: `${namespace}/${name}`,
        same: (b: V1RoleBinding) => sameRef(b) && sameSubjects(b),
        // roleRef is immutable: a binding to another role has to be recreated.
        immutableDiffers: (b: V1RoleBinding) => !sameRef(b),
      },
      wanted,
      current,
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
    );
    return changed;
  } catch (e) {
    throw toFailure(e, `ensuring RoleBinding ${namespace}/${name}`, c.server);
  }
}
