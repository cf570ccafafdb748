/**
 * What the fake drew for a fleet's vault creates (`PUT vaults`, the one long-running operation each binding has of
 * its own; the scale-set PATCHes and the gMSA enable are shared). A binding cannot finish before its vault exists
 * (its secret, then its AD user, come after it), so a fleet's wall is at least its slowest draw plus what follows,
 * while the floor's one binding draws once.
 */
import type { FleetLab } from './lab.js';
import type { Fleet } from './requests.js';

/** Each vault create of `fleet`: drawn duration in ms (start → the moment the fake lets it succeed). */
export async function vaultDraws(lab: FleetLab, fleet: Fleet): Promise<number[]> {
  const names = new Set(fleet.requests.map((r) => r.azure.keyVault.name.toLowerCase()));
  const { operations } = await lab.admin.state();
  return operations
    .filter((o) => o.op === 'PUT vaults' && names.has(o.path?.split('/').at(-1)?.toLowerCase() ?? ''))
    .map((o) => o.doneAt - Date.parse(o.startTime));
}
