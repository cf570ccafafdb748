/**
 * listCredentialSpecs: every GMSACredentialSpec on the cluster, ours or anyone's, so deprovision can tell whether
 * gMSA may be turned off (only when no spec but the leaving binding's is left: another team's workloads use theirs).
 * Ownership is read from the marks domain/ownership.ts defines; a cluster that does not serve the type has none.
 */
import type { ClusterRef } from '../../contract/activities.js';
import type { CredentialSpecEntry, LifecycleActivities } from '../../contract/lifecycle.js';
import { K8S_BINDING_ANNOTATION, ownershipFromMeta } from '../../domain/ownership.js';
import { connect, SPEC, type KubernetesActivityDeps } from './client.js';
import type { StoredSpec } from './credential-spec.js';
import { resourceTypeMissing, toFailure } from './errors.js';

/** Page size: a cluster with thousands of specs is read in pages, not one answer. */
const PAGE = 500;

interface SpecList {
  items?: StoredSpec[];
  metadata?: { continue?: string };
}

export function createSpecListActivities(
  deps: KubernetesActivityDeps,
): Pick<LifecycleActivities, 'listCredentialSpecs'> {
  async function listCredentialSpecs(input: { cluster: ClusterRef }): Promise<{ specs: CredentialSpecEntry[] }> {
    const c = await connect(deps, input.cluster);
    const specs: CredentialSpecEntry[] = [];
    let next: string | undefined;
    do {
      let page: SpecList;
      try {
        page = (await c.custom.listClusterCustomObject({
          ...SPEC,
          limit: PAGE,
          ...(next ? { _continue: next } : {}),
        })) as SpecList;
      } catch (e) {
        // No CRD: gMSA is off (or was never on), so no spec can be left.
        if (resourceTypeMissing(e)) return { specs: [] };
        throw toFailure(e, 'listing GMSACredentialSpecs', c.server);
      }
      for (const item of page.items ?? []) {
        const ours = ownershipFromMeta(item.metadata) !== undefined;
        const binding = ours ? item.metadata?.annotations?.[K8S_BINDING_ANNOTATION] : undefined;
        specs.push({
          name: String((item.metadata as { name?: string } | undefined)?.name),
          ours,
          ...(binding ? { binding } : {}),
        });
      }
      next = page.metadata?.continue || undefined;
    } while (next);
    return { specs };
  }
  return { listCredentialSpecs };
}
