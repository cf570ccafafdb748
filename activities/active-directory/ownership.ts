/**
 * Ownership of AD objects (DESIGN "A shared world"): the marker attribute (domain/ownership.ts codec) read and
 * written, the refusal of privileged accounts (domain/privileged.ts) whatever options.adopt says, and what an
 * existing account is to this binding: ours, adopted now, or refused before any write.
 */
import { Attribute, Change, type Entry } from 'ldapts';
import { ErrorType, fatal } from '../../contract/errors.js';
import {
  AD_MARKER_ATTRIBUTE,
  adopts,
  formatAdMarker,
  notOursMessage,
  parseAdMarker,
  PRODUCT,
  type AdMarker,
  type AdoptKind,
  type Owner,
  type Ownership,
} from '../../domain/ownership.js';
import { isWellKnownAccount, privilegeOf } from '../../domain/privileged.js';
import { sidToString } from '../../domain/sid.js';
import { first, firstBuffer, type LdapSession } from './ldap-session.js';

/** What every look-up of an account reads besides its own attributes: its marker, name, SID, AdminSDHolder flag. */
export const OWNERSHIP_ATTRIBUTES = [AD_MARKER_ATTRIBUTE, 'sAMAccountName', 'objectSid', 'adminCount'];

export const markerOf = (entry: Entry): AdMarker | undefined => parseAdMarker(first(entry, AD_MARKER_ATTRIBUTE));

/** The marker as it goes into the LDAP add that creates the object. */
export const markerAttribute = (m: AdMarker) =>
  new Attribute({ type: AD_MARKER_ATTRIBUTE, values: [formatAdMarker(m)] });

/** The marker rewritten, or (undefined: an adopted object its last binding left) taken off. */
export const markerChange = (m: AdMarker | undefined) =>
  m
    ? new Change({ operation: 'replace', modification: markerAttribute(m) })
    : new Change({ operation: 'delete', modification: new Attribute({ type: AD_MARKER_ATTRIBUTE, values: [] }) });

/** The marker once a binding has left (release's `next`): none at all when it was adopted and nobody uses it. */
export const remaining = (marker: AdMarker, next: Ownership): AdMarker | undefined =>
  next.createdBy === undefined && next.uses.length === 0 ? undefined : { ...marker, ...next };

/** A value someone else keeps in the marker attribute, for the refusal's text (never more than a line of it). */
function foreignMark(entry: Entry): string | undefined {
  const value = first(entry, AD_MARKER_ATTRIBUTE);
  if (!value) return undefined;
  return `${AD_MARKER_ATTRIBUTE} "${value.length > 80 ? `${value.slice(0, 77)}...` : value}"`;
}

/**
 * The versionless URI of a binding's secret, in the form storeUserSecret returns (`<vault>/secrets/<name>`, the
 * vault URI without its trailing slash).
 */
export const secretUriOf = (secret: { vaultUri: string; secretName: string }) =>
  `${secret.vaultUri.replace(/\/+$/, '')}/secrets/${secret.secretName}`;

/** Key Vault URIs compare case-blind (host and secret names are), and a trailing slash means nothing. */
export const sameSecretUri = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();

const refusePrivileged = (what: string, why: string) =>
  fatal(
    ErrorType.Conflict,
    `${what} is a privileged account (${why}); ${PRODUCT} never changes privileged accounts, whatever options.adopt ` +
      'says; nothing was changed. Choose another name',
  );

/** Refuses a built-in account by its name alone, before the directory is asked anything. */
export function refuseWellKnownName(what: string, sam: string): void {
  if (isWellKnownAccount(sam)) throw refusePrivileged(what, 'a built-in account of the domain');
}

/**
 * Refuses an account that is privileged in the directory: a well-known RID, adminCount=1, or membership (direct or
 * nested: tokenGroups, which the DC computes on a base-scope read only) of a protected group.
 */
export async function refuseIfPrivileged(session: LdapSession, entry: Entry, what: string): Promise<void> {
  const sam = first(entry, 'sAMAccountName');
  if (sam) refuseWellKnownName(what, sam);
  const read = await session.run(`reading the groups of ${entry.dn}`, async (c) => {
    const { searchEntries } = await c.search(entry.dn, {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['objectSid', 'adminCount', 'tokenGroups'],
      explicitBufferAttributes: ['objectSid', 'tokenGroups'],
    });
    return searchEntries[0];
  });
  const sid = read && firstBuffer(read, 'objectSid');
  if (!read || !sid) throw fatal(ErrorType.PreconditionFailed, `${entry.dn} has no objectSid`);
  const groups = [read.tokenGroups]
    .flat()
    .filter(Buffer.isBuffer)
    .map((b) => sidToString(b));
  const adminCount = first(read, 'adminCount');
  const why = privilegeOf(sidToString(sid), groups, adminCount === undefined ? undefined : Number(adminCount));
  if (why) throw refusePrivileged(what, why);
}

/**
 * What an existing account is to this binding, after the privileged check: `ours` (marked by this product, any
 * binding), `adopted` (unmarked and the caller adopts `kind`). Anything else fails before any write.
 */
export async function standingOf(
  session: LdapSession,
  entry: Entry,
  kind: AdoptKind,
  what: string,
  owner: Owner,
): Promise<{ ownership: 'ours'; marker: AdMarker } | { ownership: 'adopted' }> {
  await refuseIfPrivileged(session, entry, what);
  const marker = markerOf(entry);
  if (marker) return { ownership: 'ours', marker };
  if (adopts(owner, kind)) return { ownership: 'adopted' };
  throw fatal(ErrorType.Conflict, notOursMessage(kind, what, foreignMark(entry)));
}
