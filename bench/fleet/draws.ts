/**
 * What the fake drew for a fleet's long-running operations: its vault creates (`PUT vaults`: one a binding with a
 * vault each, one in all when the secrets share the cluster's vault) and its gMSA enables (`PUT managedClusters`,
 * one a cluster). A binding cannot finish before its vault exists and its cluster has gMSA on, so a fleet's wall is
 * at least its slowest draw plus what follows, while the floor's one binding draws once of each.
 */
import { provisionSteps } from '../../workflows/steps.js';
import type { FleetLab } from './lab.js';
import type { Fleet } from './requests.js';

type Operations = Awaited<ReturnType<FleetLab['admin']['state']>>['operations'];

/** The fleet's operations `op` on resources named `names`: drawn ms each (start → when the fake lets it succeed). */
function draws(operations: Operations, op: string, names: string[]): number[] {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  return operations
    .filter((o) => o.op === op && wanted.has(o.path?.split('/').at(-1)?.toLowerCase() ?? ''))
    .map((o) => o.doneAt - Date.parse(o.startTime));
}

export const vaultDraws = (operations: Operations, fleet: Fleet) =>
  draws(
    operations,
    'PUT vaults',
    fleet.requests.map((r) => r.azure.keyVault.name),
  );

export const enableDraws = (operations: Operations, fleet: Fleet) =>
  draws(operations, 'PUT managedClusters', fleet.clusters);

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
