/**
 * What the fake drew for a fleet's vault creates (`PUT vaults`, the one long-running operation each binding has of
 * its own; the scale-set PATCHes and the gMSA enable are shared). A binding cannot finish before its vault exists
 * (its secret, then its AD user, come after it), so a fleet's wall is at least its slowest draw plus what follows,
 * while the floor's one binding draws once.
 */
import { provisionSteps } from '../../workflows/steps.js';
import type { FleetLab } from './lab.js';
import type { Fleet } from './requests.js';

type Operations = Awaited<ReturnType<FleetLab['admin']['state']>>['operations'];

/** Each vault create of `fleet` among the fake's `operations`: drawn ms (start → when the fake lets it succeed). */
export function vaultDraws(operations: Operations, fleet: Fleet): number[] {
  const names = new Set(fleet.requests.map((r) => r.azure.keyVault.name.toLowerCase()));
  return operations
    .filter((o) => o.op === 'PUT vaults' && names.has(o.path?.split('/').at(-1)?.toLowerCase() ?? ''))
    .map((o) => o.doneAt - Date.parse(o.startTime));
}

/**
 * The longest chain of the provisioning's steps that come after `from` (need it, directly or not), each step timed
 * by `stepMs` (a step `stepMs` has no time for counts 0): what a binding still has to do once `from` is done.
 */
export function chainAfter(from: string, stepMs: (step: string) => number): number {
  const { steps } = provisionSteps;
  const memo = new Map<string, number>();
  const after = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const next = steps.filter((s) => (s.needs as readonly string[]).includes(name));
    const longest = Math.max(0, ...next.map((s) => stepMs(s.name) + after(s.name)));
    memo.set(name, longest);
    return longest;
  };
  return after(from);
}
