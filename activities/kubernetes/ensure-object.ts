/**
 * One way to converge any object this product writes to a cluster (DESIGN "A shared world"). The caller reads it;
 * `decide` says what to do, and throws, before anything is written; `plan` holds that decision until the caller has
 * decided every object of the step, then writes.
 *
 * - absent: create it, marked as this binding's (bindingMeta) in the create itself;
 * - this binding's: keep it when already as wanted, else replace it, keeping the labels and annotations others put
 *   on it and the resourceVersion read (so a concurrent change fails with 409 rather than being overwritten);
 * - unmarked (made by hand, by the PowerShell module): refused, unless the caller adopts its kind, then replaced
 *   with our content and the adopted marks;
 * - another tool's (another managed-by) or another binding's: refused.
 */
import type { ApplicationFailure } from '@temporalio/common';
import {
  adopts,
  bindingMeta,
  K8S_ADOPTED_ANNOTATION,
  K8S_BINDING_ANNOTATION,
  K8S_BINDING_LABEL,
  K8S_MANAGED_BY_LABEL,
  notOursMessage,
  ownershipFromMeta,
  PRODUCT,
  usedBy,
  type AdoptKind,
  type K8sMeta,
  type Owner,
} from '../../domain/ownership.js';
import { ErrorType, fatal } from '../../contract/errors.js';

type Labels = Record<string, string> | undefined;

/** What the API server returns: enough of the metadata to decide. */
export interface StoredObject {
  metadata?: { resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** What this product writes: a manifest with its own labels (the managed-by label among them). */
export interface WantedObject {
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
}

export const mine = (labels: Labels) => labels?.[K8S_MANAGED_BY_LABEL] === PRODUCT;

/** Something else (Helm, another tool) claims the object: converging it would fight that owner. */
export const ownedByOther = (labels: Labels) => labels?.[K8S_MANAGED_BY_LABEL] !== undefined && !mine(labels);

export function ownedElsewhere(kind: string, name: string, labels: Labels): ApplicationFailure {
  return fatal(
    ErrorType.Conflict,
    `${kind} "${name}" exists and is managed by "${labels?.[K8S_MANAGED_BY_LABEL]}", not ${PRODUCT}; nothing was ` +
      `changed. Choose another credential spec name or remove that ${kind}`,
  );
}

/** Another binding of this product holds the object: on one cluster a spec name is one binding's. */
export function otherBinding(kind: string, name: string, meta: K8sMeta): ApplicationFailure {
  const by = meta.annotations?.[K8S_BINDING_ANNOTATION] ?? meta.labels?.[K8S_BINDING_LABEL];
  return fatal(
    ErrorType.Conflict,
    `${kind} "${name}" exists and belongs to another ${PRODUCT} binding (${by}); nothing was changed. Two ` +
      `bindings cannot share a credential spec name on one cluster: choose another name, or deprovision that binding`,
  );
}

export type EnsureDecision<W> = (
  | { action: 'keep' }
  /** `body`: the wanted object with this binding's marks. */
  | { action: 'create'; body: W }
  /** `body` also keeps the current labels and annotations under ours, and the current resourceVersion. */
  | { action: 'replace'; body: W }
  /** A field that cannot change in place (a RoleBinding's roleRef) differs: delete, then create `body`. */
  | { action: 'recreate'; body: W }
) & {
  /** The object is (or, once written, will be) held as adopted: it existed before and the caller vouched for it. */
  adopted: boolean;
};

export interface EnsureRule<S extends StoredObject> {
  /** For messages: the kind and the name as a user would write them (`RoleBinding`, `default/name`). */
  kind: string;
  name: string;
  /** The options.adopt value that adopts an unmarked object of this kind. */
  adopt: AdoptKind;
  /** Whether what is stored already says what is wanted (the fields this product owns). */
  same(current: S): boolean;
  /** Whether what differs cannot be changed in place. */
  immutableDiffers?(current: S): boolean;
}

/** `wanted` with `marks` over the labels and annotations `current` has (others' kept), no resourceVersion. */
function marked<W extends WantedObject>(wanted: W, current: StoredObject['metadata'], marks: Required<K8sMeta>): W {
  const annotations = { ...current?.annotations, ...wanted.metadata.annotations, ...marks.annotations };
  if (!(K8S_ADOPTED_ANNOTATION in marks.annotations)) delete annotations[K8S_ADOPTED_ANNOTATION];
  return {
    ...wanted,
    metadata: {
      ...wanted.metadata,
      labels: { ...current?.labels, ...wanted.metadata.labels, ...marks.labels },
      annotations,
    },
  };
}

const carries = (have: Labels, want: Record<string, string>) => Object.entries(want).every(([k, v]) => have?.[k] === v);

/** The pure part: what to do with `current` (undefined: absent) to make it `wanted` for `owner`. Throws to refuse. */
export function decide<W extends WantedObject, S extends StoredObject>(
  rule: EnsureRule<S>,
  wanted: W,
  current: S | undefined,
  owner: Owner,
): EnsureDecision<W> {
  if (!current)
    return { action: 'create', body: marked(wanted, undefined, bindingMeta(owner.binding)), adopted: false };
  const meta = current.metadata ?? {};
  if (ownedByOther(meta.labels)) throw ownedElsewhere(rule.kind, rule.name, meta.labels);
  let adopted: boolean;
  if (!mine(meta.labels)) {
    if (!adopts(owner, rule.adopt))
      throw fatal(ErrorType.Conflict, notOursMessage(rule.adopt, `${rule.kind} "${rule.name}"`, undefined));
    adopted = true;
  } else if (meta.labels?.[K8S_BINDING_LABEL] === undefined) {
    // Written by this product before bindings were marked: the name is the spec's, and one cluster and spec are
    // one binding, so it is this binding's; the marks are completed.
    adopted = false;
  } else {
    const ownership = ownershipFromMeta(meta);
    if (!usedBy(ownership, owner.binding)) throw otherBinding(rule.kind, rule.name, meta);
    adopted = ownership?.createdBy === undefined;
  }
  const marks = bindingMeta(owner.binding, adopted);
  const body = marked(wanted, meta, marks);
  if (rule.immutableDiffers?.(current)) return { action: 'recreate', body, adopted };
  if (rule.same(current) && carries(meta.labels, marks.labels) && carries(meta.annotations, marks.annotations))
    return { action: 'keep', adopted };
  return {
    action: 'replace',
    body: { ...body, metadata: { ...body.metadata, resourceVersion: meta.resourceVersion } },
    adopted,
  };
}

export interface EnsureCalls<W, S> {
  create(body: W): Promise<S>;
  replace(body: W): Promise<S>;
  /** Needed only when the rule can say `immutableDiffers`. */
  remove?(): Promise<unknown>;
}

/** What converging one object did: `changed` only when this call wrote; `stored` as the API server holds it. */
export interface EnsureOutcome<S> {
  changed: boolean;
  stored: S;
  adopted: boolean;
}

/** Writes what `decision` says. */
export async function apply<W extends WantedObject, S extends StoredObject>(
  rule: EnsureRule<S>,
  decision: EnsureDecision<W>,
  current: S | undefined,
  calls: EnsureCalls<W, S>,
): Promise<EnsureOutcome<S>> {
  const { adopted } = decision;
  switch (decision.action) {
    case 'keep':
      return { changed: false, stored: current!, adopted };
    case 'create':
      return { changed: true, stored: await calls.create(decision.body), adopted };
    case 'replace':
      return { changed: true, stored: await calls.replace(decision.body), adopted };
    case 'recreate':
      if (!calls.remove) throw new Error(`${rule.kind} ${rule.name}: recreating needs a remove call`);
      await calls.remove();
      return { changed: true, stored: await calls.create(decision.body), adopted };
  }
}

/** A decision taken (so a refusal has been thrown) and its write, for when the caller is ready to write. */
export interface Plan<S> {
  /** The options.adopt kind of the object (the outcome says whether it is held as adopted). */
  kind: AdoptKind;
  write(): Promise<EnsureOutcome<S>>;
}

/** Decides now (throws to refuse); writes on `write()`. */
export function plan<W extends WantedObject, S extends StoredObject>(
  rule: EnsureRule<S>,
  wanted: W,
  current: S | undefined,
  owner: Owner,
  calls: EnsureCalls<W, S>,
): Plan<S> {
  const decision = decide(rule, wanted, current, owner);
  return { kind: rule.adopt, write: () => apply(rule, decision, current, calls) };
}
