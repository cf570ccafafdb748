/** The GMSACredentialSpec resource itself (cluster-scoped, served by the windows-gmsa CRD). */
import type { GmsaCredentialSpecResource } from '../../domain/credential-spec.js';
import type { Owner } from '../../domain/ownership.js';
import { isDeepStrictEqual } from 'node:util';
import { ErrorType, fatal } from '../../contract/errors.js';
import { SPEC, type Clients } from './client.js';
import { plan, type EnsureRule, type Plan, type StoredObject } from './ensure-object.js';
import { isApi, notEnabled, resourceTypeMissing, statusOf, toFailure } from './errors.js';

export interface StoredSpec extends StoredObject {
  credspec?: unknown;
}

export const readSpec = (c: Clients, name: string) =>
  c.custom.getClusterCustomObject({ ...SPEC, name }) as Promise<StoredSpec>;

/** The spec, undefined when absent; a cluster that does not serve the type fails as "gMSA is not enabled". */
export async function findSpec(c: Clients, name: string): Promise<StoredSpec | undefined> {
  try {
    return await readSpec(c, name);
  } catch (e) {
    if (resourceTypeMissing(e)) throw notEnabled(c.server);
    if (isApi(e, 404)) return undefined;
    throw toFailure(e, `reading GMSACredentialSpec ${name}`, c.server);
  }
}

const specRule = (wanted: GmsaCredentialSpecResource): EnsureRule<StoredSpec> => ({
  kind: 'GMSACredentialSpec',
  name: wanted.metadata.name,
  adopt: 'credentialSpec',
  same: (s) => isDeepStrictEqual(s.credspec, wanted.credspec),
});

/** Decides now about `current` (what findSpec read; throws to refuse); writes on `write()`. */
export function planSpec(
  c: Clients,
  wanted: GmsaCredentialSpecResource,
  current: StoredSpec | undefined,
  owner: Owner,
): Plan<StoredSpec> {
  const name = wanted.metadata.name;
  const calls = {
    // Strict: a field the CRD's schema does not know is an error, not silently pruned.
    create: (body: GmsaCredentialSpecResource) =>
      c.custom.createClusterCustomObject({ ...SPEC, body, fieldValidation: 'Strict' }) as Promise<StoredSpec>,
    replace: (body: GmsaCredentialSpecResource) =>
      c.custom.replaceClusterCustomObject({ ...SPEC, name, body, fieldValidation: 'Strict' }) as Promise<StoredSpec>,
  };
  const first = plan(specRule(wanted), wanted, current, owner, calls);
  const write = async (p: Plan<StoredSpec>, attempt: number): ReturnType<Plan<StoredSpec>['write']> => {
    try {
      return await p.write();
    } catch (e) {
      // Someone created or changed it between our read and write: read and decide again, once.
      if (attempt === 1 && isApi(e, 409))
        return write(plan(specRule(wanted), wanted, await findSpec(c, name), owner, calls), 2);
      if (resourceTypeMissing(e)) throw notEnabled(c.server);
      if (isApi(e, 422) || isApi(e, 400))
        throw fatal(
          ErrorType.InvalidInput,
          `the cluster's GMSACredentialSpec schema rejected the document: ${statusOf(e).message ?? e.body}`,
          e,
        );
      throw toFailure(e, `writing GMSACredentialSpec ${name}`, c.server);
    }
  };
  return { ...first, write: () => write(first, 1) };
}
