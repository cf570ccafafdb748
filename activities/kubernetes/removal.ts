/**
 * Removing what ensureCredentialSpec made: the RoleBinding, the ClusterRole, then the spec. Each is read first
 * (absent: nothing to do) and deleted only when it carries this product's label; one without it is kept and named.
 */
import { clusterRoleName, roleBindingName } from '../../domain/credential-spec.js';
import type { RemoveCredentialSpecInput, RemoveCredentialSpecResult } from '../../contract/activities.js';
import { SPEC, type Clients } from './client.js';
import { readSpec } from './credential-spec.js';
import { mine, type StoredObject } from './ensure-object.js';
import { isApi, readOrUndefined, toFailure } from './errors.js';

export async function removeCredentialSpec(
  c: Clients,
  input: RemoveCredentialSpecInput,
): Promise<RemoveCredentialSpecResult> {
  const { namespace, serviceAccount } = input.rbac;
  const removed: string[] = [];
  const kept: string[] = [];
  const remove = async (label: string, read: () => Promise<StoredObject>, del: () => Promise<unknown>) => {
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
    () => readSpec(c, input.specName),
    () => c.custom.deleteClusterCustomObject({ ...SPEC, name: input.specName }),
  );
  return { removed, kept };
}
