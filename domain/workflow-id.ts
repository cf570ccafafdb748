/**
 * The deterministic workflow id: one provisioning per cluster and credential spec at a time. Readable in the
 * Temporal UI (cluster and spec first), unique by a hash of the full cluster coordinates, and URL-safe.
 */
import { createHash } from 'node:crypto';
import type { ProvisionRequest } from './request.js';

export function provisioningId(r: Pick<ProvisionRequest, 'cluster' | 'gmsa'>): string {
  // ARM names are case-insensitive: the same cluster must give the same id however it is spelled.
  const key = [r.cluster.subscriptionId, r.cluster.resourceGroup, r.cluster.name, r.gmsa.credentialSpecName]
    .map((s) => s.toLowerCase())
    .join('/');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return `gmsa-${r.cluster.name.toLowerCase()}-${r.gmsa.credentialSpecName}-${hash}`;
}

/** What a provisioning id looks like; anything else is not one of ours. */
export const PROVISIONING_ID_PATTERN = '^gmsa-[a-z0-9_-]{1,63}-[a-z0-9-]{1,63}-[0-9a-f]{12}$';
