/**
 * One way to converge any object this product writes to a cluster: read it (the caller does), create it when absent,
 * leave it when it is ours and already as wanted, refuse it when another tool owns it, and otherwise replace it,
 * keeping the labels others put on it and the resourceVersion read (so a concurrent change fails with 409 rather
 * than being overwritten). An object made by hand or by the PowerShell module (no managed-by label) is adopted.
 */
import type { ApplicationFailure } from '@temporalio/common';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../domain/credential-spec.js';
import { ErrorType, fatal } from '../../contract/errors.js';

type Labels = Record<string, string> | undefined;

/** What the API server returns: enough of the metadata to decide. */
export interface StoredObject {
  metadata?: { resourceVersion?: string; labels?: Record<string, string> };
}

/** What this product writes: a manifest with its own labels (the managed-by label among them). */
export interface WantedObject {
  metadata: { name: string; labels: Record<string, string> };
}

export const mine = (labels: Labels) => labels?.[MANAGED_BY_LABEL] === MANAGED_BY;

/** Something else (Helm, another tool) claims the object: converging it would fight that owner. */
export const ownedByOther = (labels: Labels) => labels?.[MANAGED_BY_LABEL] !== undefined && !mine(labels);

export function ownedElsewhere(kind: string, name: string, labels: Labels): ApplicationFailure {
  return fatal(
    ErrorType.Conflict,
    `${kind} "${name}" exists and is managed by "${labels?.[MANAGED_BY_LABEL]}", not ${MANAGED_BY}; choose another ` +
      `credential spec name or remove that ${kind}`,
  );
}

export type EnsureDecision<W> =
  | { action: 'create' }
  | { action: 'keep' }
  /** `body` is the wanted object with the current labels kept under ours and the current resourceVersion. */
  | { action: 'replace'; body: W }
  /** A field that cannot change in place (a RoleBinding's roleRef) differs: delete, then create. */
  | { action: 'recreate' };

export interface EnsureRule<S extends StoredObject> {
  /** For messages: the kind and the name as a user would write them (`RoleBinding`, `default/name`). */
  kind: string;
  name: string;
  /** Whether what is stored already says what is wanted (the fields this product owns). */
  same(current: S): boolean;
  /** Whether what differs cannot be changed in place. */
  immutableDiffers?(current: S): boolean;
}

/** The pure part: what to do with `current` (undefined: absent) to make it `wanted`. Throws for another owner's. */
export function decide<W extends WantedObject, S extends StoredObject>(
  rule: EnsureRule<S>,
  wanted: W,
  current: S | undefined,
): EnsureDecision<W> {
  if (!current) return { action: 'create' };
  const labels = current.metadata?.labels;
  if (ownedByOther(labels)) throw ownedElsewhere(rule.kind, rule.name, labels);
  if (mine(labels) && rule.same(current)) return { action: 'keep' };
  if (rule.immutableDiffers?.(current)) return { action: 'recreate' };
  return {
    action: 'replace',
    body: {
      ...wanted,
      metadata: {
        ...wanted.metadata,
        labels: { ...labels, ...wanted.metadata.labels },
        resourceVersion: current.metadata?.resourceVersion,
      },
    },
  };
}

export interface EnsureCalls<W, S> {
  create(body: W): Promise<S>;
  replace(body: W): Promise<S>;
  /** Needed only when the rule can say `immutableDiffers`. */
  remove?(): Promise<unknown>;
}

/** Converges one object; `stored` is what the API server holds afterwards (as it answered the write, or as read). */
export async function ensureObject<W extends WantedObject, S extends StoredObject>(
  rule: EnsureRule<S>,
  wanted: W,
  current: S | undefined,
  calls: EnsureCalls<W, S>,
): Promise<{ changed: boolean; stored: S }> {
  const decision = decide(rule, wanted, current);
  switch (decision.action) {
    case 'keep':
      return { changed: false, stored: current! };
    case 'create':
      return { changed: true, stored: await calls.create(wanted) };
    case 'replace':
      return { changed: true, stored: await calls.replace(decision.body) };
    case 'recreate':
      if (!calls.remove) throw new Error(`${rule.kind} ${rule.name}: recreating needs a remove call`);
      await calls.remove();
      return { changed: true, stored: await calls.create(wanted) };
  }
}
