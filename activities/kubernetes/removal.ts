/**
 * Removing what ensureCredentialSpec made for one binding: the RoleBinding, the ClusterRole, then the spec. Each is
 * read first (absent: nothing to do) and its marks decide, never what an attempt reported (release()):
 * - created by this binding: deleted, on the condition that it is still the object read (resourceVersion);
 * - adopted by this binding: our labels and annotations are taken off, the object stays (with the content the
 *   binding gave it), named in `kept`;
 * - anyone else's (unmarked, another tool's, another binding's, or marked before bindings were): left untouched,
 *   named in `kept`.
 */
import { clusterRoleName, roleBindingName } from '../../domain/credential-spec.js';
import {
  K8S_ADOPTED_ANNOTATION,
  K8S_BINDING_ANNOTATION,
  K8S_BINDING_LABEL,
  K8S_MANAGED_BY_LABEL,
  ownershipFromMeta,
  PRODUCT,
  release,
  usedBy,
  type Owner,
} from '../../domain/ownership.js';
import type { RemoveCredentialSpecInput, RemoveCredentialSpecResult } from '../../contract/activities.js';
import { SPEC, type Clients } from './client.js';
import { readSpec } from './credential-spec.js';
import type { StoredObject } from './ensure-object.js';
import { isApi, readOrUndefined, toFailure } from './errors.js';

interface Removable extends StoredObject {
  metadata?: StoredObject['metadata'] & { managedFields?: unknown };
}

/** `current` without this product's labels and annotations, ready to be written back as it is otherwise. */
export function unmarked<S extends Removable>(current: S): S {
  const labels = { ...current.metadata?.labels };
  if (labels[K8S_MANAGED_BY_LABEL] === PRODUCT) delete labels[K8S_MANAGED_BY_LABEL];
  delete labels[K8S_BINDING_LABEL];
  const annotations = { ...current.metadata?.annotations };
  delete annotations[K8S_BINDING_ANNOTATION];
  delete annotations[K8S_ADOPTED_ANNOTATION];
  // managedFields omitted: the API server keeps its own record of field managers.
  const { managedFields: _managedFields, ...metadata } = current.metadata ?? {};
  return { ...current, metadata: { ...metadata, labels, annotations } };
}

interface RemovalCalls<S> {
  label: string;
  read(): Promise<S>;
  /** Deletes the object, only if its resourceVersion is still the one given. */
  del(resourceVersion: string | undefined): Promise<unknown>;
  replace(body: S): Promise<unknown>;
}

export async function removeCredentialSpec(
  c: Clients,
  input: RemoveCredentialSpecInput,
  owner: () => Owner,
): Promise<RemoveCredentialSpecResult> {
  const { namespace, serviceAccount } = input.rbac;
  const removed: string[] = [];
  const kept: string[] = [];
  const remove = async <S extends Removable>({ label, read, del, replace }: RemovalCalls<S>) => {
    try {
      const current = await readOrUndefined(read);
      if (!current) return;
      const ownership = ownershipFromMeta(current.metadata);
      const { binding } = owner();
      // release() would take another binding's object for one to release: it is not ours to touch at all.
      const next = usedBy(ownership, binding) ? release(ownership, binding) : ({ action: 'foreign' } as const);
      switch (next.action) {
        case 'foreign':
          kept.push(label);
          return;
        case 'release':
          // One binding per object on a cluster (its label holds one key): releasing it means it is no one's.
          await replace(unmarked(current));
          kept.push(`${label} (adopted: ${PRODUCT}'s marks removed)`);
          return;
        case 'delete':
          await del(current.metadata?.resourceVersion);
          removed.push(label);
      }
    } catch (e) {
      if (isApi(e, 404)) return; // gone meanwhile, or no CRD: nothing of ours there
      throw toFailure(e, `removing ${label}`, c.server);
    }
  };
  const preconditions = (resourceVersion: string | undefined) => ({ body: { preconditions: { resourceVersion } } });
  const binding = roleBindingName(input.specName, serviceAccount);
  const role = clusterRoleName(input.specName);
  await remove({
    label: `RoleBinding/${namespace}/${binding}`,
    read: () => c.rbac.readNamespacedRoleBinding({ name: binding, namespace }),
    del: (rv) => c.rbac.deleteNamespacedRoleBinding({ name: binding, namespace, ...preconditions(rv) }),
    replace: (body) => c.rbac.replaceNamespacedRoleBinding({ name: binding, namespace, body }),
  });
  await remove({
    label: `ClusterRole/${role}`,
    read: () => c.rbac.readClusterRole({ name: role }),
    del: (rv) => c.rbac.deleteClusterRole({ name: role, ...preconditions(rv) }),
    replace: (body) => c.rbac.replaceClusterRole({ name: role, body }),
  });
  await remove({
    label: `GMSACredentialSpec/${input.specName}`,
    read: () => readSpec(c, input.specName),
    del: (rv) => c.custom.deleteClusterCustomObject({ ...SPEC, name: input.specName, ...preconditions(rv) }),
    replace: (body) => c.custom.replaceClusterCustomObject({ ...SPEC, name: input.specName, body }),
  });
  return { removed, kept };
}
