/** The GMSACredentialSpec resource itself (cluster-scoped, served by the windows-gmsa CRD). */
import type { GmsaCredentialSpecResource } from '../../domain/credential-spec.js';
import { isDeepStrictEqual } from 'node:util';
import { ErrorType, fatal } from '../../contract/errors.js';
import { SPEC, type Clients } from './client.js';
import { ensureObject, type StoredObject } from './ensure-object.js';
import { isApi, notEnabled, readOrUndefined, resourceTypeMissing, statusOf, toFailure } from './errors.js';

export interface StoredSpec extends StoredObject {
  credspec?: unknown;
}

export const readSpec = (c: Clients, name: string) =>
  c.custom.getClusterCustomObject({ ...SPEC, name }) as Promise<StoredSpec>;

export async function ensureSpec(
  c: Clients,
  wanted: GmsaCredentialSpecResource,
): Promise<{ resourceVersion: string; changed: boolean }> {
  const name = wanted.metadata.name;
  for (let attempt = 1; ; attempt++) {
    let current: StoredSpec | undefined;
    try {
      current = await readOrUndefined(() => readSpec(c, name));
    } catch (e) {
      if (resourceTypeMissing(e)) throw notEnabled(c.server);
      throw toFailure(e, `reading GMSACredentialSpec ${name}`, c.server);
    }
    try {
      const { changed, stored } = await ensureObject(
        { kind: 'GMSACredentialSpec', name, same: (s: StoredSpec) => isDeepStrictEqual(s.credspec, wanted.credspec) },
        wanted,
        current,
        {
          // Strict: a field the CRD's schema does not know is an error, not silently pruned.
          create: (body) =>
            c.custom.createClusterCustomObject({ ...SPEC, body, fieldValidation: 'Strict' }) as Promise<StoredSpec>,
          replace: (body) =>
            c.custom.replaceClusterCustomObject({
              ...SPEC,
              name,
              body,
              fieldValidation: 'Strict',
            }) as Promise<StoredSpec>,
        },
      );
      return { resourceVersion: stored.metadata?.resourceVersion ?? '', changed };
    } catch (e) {
      // Someone created or changed it between our read and write: read again once.
      if (attempt === 1 && isApi(e, 409)) continue;
      if (resourceTypeMissing(e)) throw notEnabled(c.server);
      if (isApi(e, 422) || isApi(e, 400))
        throw fatal(
          ErrorType.InvalidInput,
          `the cluster's GMSACredentialSpec schema rejected the document: ${statusOf(e).message ?? e.body}`,
          e,
        );
      throw toFailure(e, `writing GMSACredentialSpec ${name}`, c.server);
    }
  }
}
