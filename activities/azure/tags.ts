/**
 * Ownership on Azure objects (DESIGN "A shared world"): what an ensure step may do with a resource or secret it
 * finds, judged from its tags before any write, and what a removal does with it; plus the two records of grants
 * this product made, which Azure has no tags for: a role assignment's `description` (the AD marker codec,
 * `managed-by=aks-gmsa;binding=<id>;uses=<key>,…`) and, on an access-policy vault, packed tags naming the
 * principal each binding added (`gmsa-grants-<n>`).
 */
import {
  adopts,
  AZURE_TAG_LIMITS,
  bindingKey,
  claim,
  formatAdMarker,
  isPacked,
  notOursMessage,
  ownershipFromTags,
  packedTags,
  parseAdMarker,
  release,
  tagOwner,
  tagsWithOwnership,
  tagsWithoutOwnership,
  unpackedTags,
  usedBy,
  type AdoptKind,
  type Owner,
  type Ownership,
} from '../../domain/ownership.js';
import { ErrorType, fatal } from '../../contract/errors.js';

type Tags = Record<string, string> | undefined;

/** What an ensure step does with an object that exists. */
export interface Claimed {
  /** The tags to write; undefined when they already say what they must (this binding listed). */
  tags?: Record<string, string>;
  /** It was not the product's: the caller adopted it (now, or an earlier binding did). */
  adopted: boolean;
  ownership: Ownership;
}

/**
 * An existing object: ours (any binding) is claimed for this binding; unmarked and not adopted is refused,
 * non-retryably, before any write; unmarked and adopted gets the adopted marks.
 */
export function claimExisting(kind: AdoptKind, what: string, tags: Tags, owner: Owner): Claimed {
  const current = ownershipFromTags(tags);
  if (!current && !adopts(owner, kind)) {
    throw fatal(ErrorType.Conflict, notOursMessage(kind, what, tagOwner(tags)));
  }
  const next = claim(current, owner.binding, false);
  const unchanged = current !== undefined && usedBy(current, owner.binding);
  return {
    tags: unchanged ? undefined : tagsWithOwnership(tags, next, owner.binding),
    adopted: next.createdBy === undefined,
    ownership: next,
  };
}

/** The tags of an object this binding creates, written in the call that creates it. */
export const createdTags = (owner: Owner, extra: Record<string, string> = {}) =>
  tagsWithOwnership(extra, claim(undefined, owner.binding, true), owner.binding);

/** What a removal does: leave a foreign object, rewrite the tags of one others still use, or delete it. */
export type Removal =
  | { action: 'foreign'; reason: string }
  /**
   * `tags` undefined: this binding was not listed, nothing to write. `unmarked`: no binding is left on an adopted
   * object, so the tags lose every mark of the product.
   */
  | { action: 'release'; tags?: Record<string, string>; unmarked: boolean; reason: string }
  | { action: 'delete' };

export function removalOf(what: string, tags: Tags, binding: string): Removal {
  const current = ownershipFromTags(tags);
  const r = release(current, binding);
  if (r.action === 'foreign') {
    const by = tagOwner(tags);
    return {
      action: 'foreign',
      reason: `${what} is not marked as aks-gmsa's (${by ?? 'no owner marker'}): left as it is`,
    };
  }
  if (r.action === 'delete') return { action: 'delete' };
  const listed = usedBy(current, binding);
  const others = r.next.uses.length;
  const reason =
    others > 0
      ? `${what} is still used by ${others} other binding(s): kept, this binding's mark removed`
      : `${what} existed before and was adopted: kept, the product's marks removed`;
  const unmarked = others === 0 && r.next.createdBy === undefined;
  if (!listed) return { action: 'release', unmarked: false, reason };
  const next = unmarked ? tagsWithoutOwnership(tags) : tagsWithOwnership(tags, r.next, binding);
  return { action: 'release', tags: next, unmarked, reason };
}

// ---- role assignments: the marker in `description` -------------------------------------------------------------

export const assignmentOwnership = (description: string | undefined) => parseAdMarker(description);

/** The description of an assignment this binding creates. */
export const createdAssignmentDescription = (binding: string) => formatAdMarker(claim(undefined, binding, true));

/** The description after this binding starts using an assignment of ours; undefined when it already lists it. */
export function claimedAssignmentDescription(description: string | undefined, binding: string): string | undefined {
  const current = parseAdMarker(description);
  if (!current || usedBy(current, binding)) return undefined;
  return formatAdMarker(claim(current, binding, false));
}

// ---- access-policy vaults: which principals this product added ------------------------------------------------

export const ACCESS_TAG_PREFIX = 'gmsa-access-';
/** The worker's own entry on an adopted vault (one worker serves every binding). */
export const WORKER_ACCESS_TAG = `${ACCESS_TAG_PREFIX}worker`;
/**
 * The bindings' records, packed by principal: `gmsa-grants-1: <object id>=<key>+<key>;<object id>=<key>` (five
 * principals a tag), so an access-policy vault holds about 180 bindings with their own identities, or 400 sharing
 * one, inside Azure's 50 tags. Each names the principal a binding gave `get`.
 */
const GRANTS_PREFIX = 'gmsa-grants-';
/** The earlier form, one tag per binding (`gmsa-access-<key>: <object id>`): still read, written packed. */
const ACCESS_LEGACY = /^gmsa-access-([0-9a-f]{12})$/;

/** The object id a `gmsa-access-*` tag names, and the secret permissions it records (`<oid>` or `<oid>:get,set`). */
export function parseAccessTag(value: string | undefined): { objectId: string; permissions: string[] } | undefined {
  if (!value) return undefined;
  const [objectId, perms] = value.split(':');
  if (!objectId) return undefined;
  return { objectId: objectId.toLowerCase(), permissions: perms ? perms.split(',').filter(Boolean) : ['get'] };
}

export const formatAccessTag = (objectId: string, permissions: string[]) =>
  permissions.length === 1 && permissions[0] === 'get' ? objectId : `${objectId}:${permissions.join(',')}`;

/** Every binding's record on a vault: binding key → the object id it gave `get` (both forms read). */
export function accessRecords(tags: Tags): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tags ?? {})) {
    const key = ACCESS_LEGACY.exec(k)?.[1];
    const oid = key ? parseAccessTag(v)?.objectId : undefined;
    if (key && oid) out.set(key, oid);
  }
  for (const group of unpackedTags(tags, GRANTS_PREFIX, ';')) {
    const [oid, keys] = group.split('=');
    if (oid && keys) for (const key of keys.split('+').filter(Boolean)) out.set(key, oid.toLowerCase());
  }
  return out;
}

/** The object id `binding`'s record names, if it has one. */
export const accessRecordOf = (tags: Tags, binding: string) => accessRecords(tags).get(bindingKey(binding));

/** The vault's tags with `binding`'s record set to `objectId` (or removed: undefined), every record packed. */
export function withAccessRecord(tags: Tags, binding: string, objectId: string | undefined): Record<string, string> {
  const records = accessRecords(tags);
  if (objectId) records.set(bindingKey(binding), objectId.toLowerCase());
  else records.delete(bindingKey(binding));
  const byPrincipal = new Map<string, string[]>();
  for (const [key, oid] of records) byPrincipal.set(oid, [...(byPrincipal.get(oid) ?? []), key]);
  // A principal's keys go in groups short enough for one tag value (an object id and 16 keys).
  const groups = [...byPrincipal].flatMap(([oid, keys]) => {
    const per = Math.floor((AZURE_TAG_LIMITS.value - oid.length) / 13);
    return Array.from(
      { length: Math.ceil(keys.length / per) },
      (_, i) => `${oid}=${keys.slice(i * per, (i + 1) * per).join('+')}`,
    );
  });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags ?? {}))
    if (!ACCESS_LEGACY.test(k) && !isPacked(k, GRANTS_PREFIX)) out[k] = v;
  return { ...out, ...packedTags(GRANTS_PREFIX, groups, ';') };
}

/** The keys of the bindings other than `binding` whose record names `objectId`. */
export function otherAccessRecords(tags: Tags, objectId: string, binding: string): string[] {
  const own = bindingKey(binding);
  return [...accessRecords(tags)]
    .filter(([key, oid]) => key !== own && oid === objectId.toLowerCase())
    .map(([key]) => key);
}
