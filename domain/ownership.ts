/**
 * Ownership (DESIGN "A shared world"): what marks an object as this product's, which bindings use it, and what a
 * rollback or deprovision may do with it. Pure: each outside system encodes the same `Ownership` its own way
 * (Azure tags, an AD attribute, Kubernetes labels and annotations) with the codecs below.
 *
 * A binding is one provisioning id. Bindings are compared by `bindingKey` (12 hex characters), short enough for a
 * Kubernetes label value and for listing many bindings in one AD attribute.
 */

export const PRODUCT = 'aks-gmsa';

/** What `options.adopt` may name: the kinds of existing object a caller can vouch for. */
export const ADOPT_KINDS = [
  'domainUser',
  'gmsa',
  'managedIdentity',
  'keyVault',
  'secret',
  'credentialSpec',
  'rbac',
] as const;
export type AdoptKind = (typeof ADOPT_KINDS)[number];

/** Who is acting: the binding, and what existing objects its caller vouches for. */
export interface Owner {
  binding: string;
  adopt: readonly AdoptKind[];
}

/** What a marker says about one object. */
export interface Ownership {
  /** The binding that created the object; undefined when it existed before and was adopted. */
  createdBy?: string;
  /** Keys (bindingKey) of every binding that uses the object, the creator or adopter included. */
  uses: string[];
}

/** A binding's short key: the hash a provisioning id ends with, else a hash of the id. */
export function bindingKey(binding: string): string {
  const tail = /-([0-9a-f]{12})$/.exec(binding);
  return tail ? tail[1]! : fnv1a64(binding).slice(0, 12);
}

export const adopts = (owner: Owner, kind: AdoptKind) => owner.adopt.includes(kind);

/** The marker after `binding` starts using the object (`created`: it has just made it). */
export function claim(current: Ownership | undefined, binding: string, created: boolean): Ownership {
  const key = bindingKey(binding);
  const uses = current?.uses.includes(key) ? current.uses : [...(current?.uses ?? []), key];
  return { createdBy: created ? binding : current?.createdBy, uses };
}

export const usedBy = (o: Ownership | undefined, binding: string) => !!o?.uses.includes(bindingKey(binding));

/**
 * What removing `binding`'s use of an object means: `foreign` (not ours: leave it), `release` (others still use it,
 * or it was adopted: take our mark off, keep the object), `delete` (the product created it and no binding is left).
 */
export type Release = { action: 'foreign' } | { action: 'release'; next: Ownership } | { action: 'delete' };

export function release(current: Ownership | undefined, binding: string): Release {
  if (!current) return { action: 'foreign' };
  const key = bindingKey(binding);
  const uses = current.uses.filter((k) => k !== key);
  if (current.createdBy !== undefined && uses.length === 0) return { action: 'delete' };
  return { action: 'release', next: { ...current, uses } };
}

/** The non-retryable refusal's text for an existing object that is not ours. */
export function notOursMessage(kind: AdoptKind, what: string, markedBy: string | undefined): string {
  return (
    `${what} exists and is not marked as ${PRODUCT}'s (${markedBy ? `marked by ${markedBy}` : 'no owner marker'}); ` +
    `nothing was changed. Add "${kind}" to options.adopt to adopt it, or choose another name`
  );
}

// ---- Azure: tags on resources and secrets ---------------------------------------------------------------------

const TAG_MANAGED_BY = 'managed-by';
/** The binding that created the resource (DESIGN: `gmsa-binding: <provisioning id>`). */
const TAG_BINDING = 'gmsa-binding';
/**
 * The keys of every binding that uses the resource, packed: `gmsa-uses-1: <key>,<key>,…` (19 keys a tag), so that
 * hundreds of bindings sharing one identity or vault stay inside Azure's 50 tags a resource.
 */
const TAG_USES_PREFIX = 'gmsa-uses-';
/** The earlier form, one tag per binding (`gmsa-binding-<key>: <provisioning id>`): still read, written packed. */
const TAG_USES_LEGACY = /^gmsa-binding-([0-9a-f]{12})$/;
/** Set when the resource existed before and a caller adopted it: a removal then only takes the marks off. */
const TAG_ADOPTED = 'gmsa-adopted';

/**
 * Azure's tag limits ("Tag resources", Azure Resource Manager): 50 name/value pairs on a resource, names up to 512
 * characters, values up to 256. A Key Vault secret takes 15 tags ("About Azure Key Vault secrets").
 */
export const AZURE_TAG_LIMITS = { perResource: 50, perSecret: 15, name: 512, value: 256 } as const;

type Tags = Record<string, string> | undefined;

/** `items` in as few `<prefix><n>` tags (n from 1) as values of at most 256 characters allow. */
export function packedTags(prefix: string, items: readonly string[], sep = ','): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  let value = '';
  for (const item of items) {
    if (value && value.length + sep.length + item.length > AZURE_TAG_LIMITS.value) {
      out[`${prefix}${++n}`] = value;
      value = '';
    }
    value = value ? `${value}${sep}${item}` : item;
  }
  if (value) out[`${prefix}${++n}`] = value;
  return out;
}

/** The items `packedTags` wrote under `prefix`, in order. */
export function unpackedTags(tags: Tags, prefix: string, sep = ','): string[] {
  const packed = Object.entries(tags ?? {})
    .map(([k, v]) => ({ n: isPacked(k, prefix) ? Number(k.slice(prefix.length)) : NaN, v }))
    .filter((e) => Number.isInteger(e.n))
    .sort((a, b) => a.n - b.n);
  return packed.flatMap((e) => e.v.split(sep)).filter(Boolean);
}

/** Whether `name` is one of the `<prefix><n>` tags `packedTags` writes. */
export const isPacked = (name: string, prefix: string) =>
  name.startsWith(prefix) && /^[1-9][0-9]*$/.test(name.slice(prefix.length));

const isUsesTag = (k: string) => isPacked(k, TAG_USES_PREFIX) || TAG_USES_LEGACY.test(k);

export function ownershipFromTags(tags: Tags): Ownership | undefined {
  if (tags?.[TAG_MANAGED_BY] !== PRODUCT) return undefined;
  const legacy = Object.keys(tags).flatMap((k) => TAG_USES_LEGACY.exec(k)?.[1] ?? []);
  const uses = [...new Set([...unpackedTags(tags, TAG_USES_PREFIX), ...legacy])];
  return { createdBy: tags[TAG_ADOPTED] === 'true' ? undefined : tags[TAG_BINDING], uses };
}

/** `tags` with the marks of `o`, others' tags kept (an earlier form of the uses list is rewritten packed). */
export function tagsWithOwnership(tags: Tags, o: Ownership, binding: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags ?? {})) if (!isUsesTag(k)) out[k] = v;
  out[TAG_MANAGED_BY] = PRODUCT;
  if (o.createdBy) {
    out[TAG_BINDING] = o.createdBy;
    delete out[TAG_ADOPTED];
  } else {
    out[TAG_BINDING] ??= binding;
    out[TAG_ADOPTED] = 'true';
  }
  return { ...out, ...packedTags(TAG_USES_PREFIX, o.uses) };
}

/** `tags` without any of this product's marks (what an adopted resource gets back when its last binding leaves). */
export function tagsWithoutOwnership(tags: Tags): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags ?? {})) {
    if (k === TAG_MANAGED_BY && v === PRODUCT) continue;
    if (k === TAG_BINDING || k === TAG_ADOPTED || isUsesTag(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Who else marks a resource, for the refusal's text. */
export const tagOwner = (tags: Tags) => (tags?.[TAG_MANAGED_BY] ? `managed-by: ${tags[TAG_MANAGED_BY]}` : undefined);

// ---- Active Directory: one marker attribute -------------------------------------------------------------------

/** Single-valued, in every class's schema (top), up to 1024 characters; never read by Windows itself. */
export const AD_MARKER_ATTRIBUTE = 'adminDescription';

/** What an AD object's marker holds beyond ownership: the user's canonical secret (One password per user). */
export interface AdMarker extends Ownership {
  /** Versionless URI of the secret the binding that created (or adopted) the user wrote its password to. */
  secretUri?: string;
}

/** `managed-by=aks-gmsa;binding=<id>;uses=<key>,<key>;secret=<uri>` (`adopted` instead of binding=). */
export function formatAdMarker(m: AdMarker): string {
  const parts = [
    `managed-by=${PRODUCT}`,
    m.createdBy ? `binding=${m.createdBy}` : 'adopted',
    `uses=${m.uses.join(',')}`,
  ];
  if (m.secretUri) parts.push(`secret=${m.secretUri}`);
  return parts.join(';');
}

export function parseAdMarker(value: string | undefined): AdMarker | undefined {
  if (!value) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    const at = part.indexOf('=');
    fields.set(at < 0 ? part.trim() : part.slice(0, at).trim(), at < 0 ? '' : part.slice(at + 1).trim());
  }
  if (fields.get('managed-by') !== PRODUCT) return undefined;
  const uses = (fields.get('uses') ?? '').split(',').filter(Boolean);
  return { createdBy: fields.get('binding') || undefined, uses, secretUri: fields.get('secret') || undefined };
}

// ---- Kubernetes: labels and an annotation ---------------------------------------------------------------------

export const K8S_MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The binding's key: a label, so `kubectl get -l aks-gmsa.io/binding=<key>` lists what a binding made. */
export const K8S_BINDING_LABEL = 'aks-gmsa.io/binding';
/** The full provisioning id, for people (label values stop at 63 characters). */
export const K8S_BINDING_ANNOTATION = 'aks-gmsa.io/binding-id';
/** Set on an object adopted from someone else: deprovision takes the marks off instead of deleting it. */
export const K8S_ADOPTED_ANNOTATION = 'aks-gmsa.io/adopted';

export interface K8sMeta {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function ownershipFromMeta(meta: K8sMeta | undefined): Ownership | undefined {
  if (meta?.labels?.[K8S_MANAGED_BY_LABEL] !== PRODUCT) return undefined;
  const key = meta.labels[K8S_BINDING_LABEL];
  const adopted = meta.annotations?.[K8S_ADOPTED_ANNOTATION] === 'true';
  return {
    createdBy: adopted ? undefined : (meta.annotations?.[K8S_BINDING_ANNOTATION] ?? key),
    uses: key ? [key] : [],
  };
}

/** The labels and annotations that mark an object as `binding`'s. */
export function bindingMeta(binding: string, adopted = false): Required<K8sMeta> {
  return {
    labels: { [K8S_MANAGED_BY_LABEL]: PRODUCT, [K8S_BINDING_LABEL]: bindingKey(binding) },
    annotations: {
      [K8S_BINDING_ANNOTATION]: binding,
      ...(adopted ? { [K8S_ADOPTED_ANNOTATION]: 'true' } : {}),
    },
  };
}

// 64-bit FNV-1a: a stable, dependency-free hash for ids that do not end in one.
function fnv1a64(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(s)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}
