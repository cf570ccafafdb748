/**
 * ensureGmsa / removeGmsa: the group Managed Service Account, in the domain's well-known Managed Service Accounts
 * container, readable (msDS-ManagedPassword) by the principals in its msDS-GroupMSAMembership descriptor. Marked
 * as ours in the add that creates it; an existing one without the marker is refused (its readers unchanged)
 * unless options.adopt names gmsa, and a privileged account never becomes a gMSA of ours.
 */
import { Attribute, Change, type Entry } from 'ldapts';
import { addTrustee, gmsaMembershipDescriptor } from '../../domain/security-descriptor.js';
import { sidFromString, sidToString } from '../../domain/sid.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import type { EnsureGmsaInput, GmsaResult, RemovalResult, RemoveGmsaInput } from '../../contract/activities.js';
import { claim, release, usedBy, type Owner } from '../../domain/ownership.js';
import { ownerOf } from '../owner.js';
import { findBySam, readDomainContext, requireDomain, type DomainContext } from './domain-context.js';
import { listRootKeys, pickRootKey, tenHourRule } from './kds-root-key.js';
import { isAlreadyExists } from './ldap-errors.js';
import { all, first, firstBuffer, type LdapSession } from './ldap-session.js';
import { checkGmsaName, escapeDnValue } from './names.js';
import {
  markerAttribute,
  markerChange,
  markerOf,
  OWNERSHIP_ATTRIBUTES,
  refuseWellKnownName,
  remaining,
  standingOf,
} from './ownership.js';

/** GUID_MANAGED_SERVICE_ACCOUNTS_CONTAINER_W: found this way even where the container was renamed or localised. */
const MSA_CONTAINER_WKGUID = '1eb93889e40c45df9f0c64d23bbb6237';
/** The interval New-ADServiceAccount and Samba default to; systemOnly, so it can be set only at creation. */
const PASSWORD_INTERVAL_DAYS = '30';
/** RC4 | AES128 | AES256, what New-ADServiceAccount writes. */
const ENCRYPTION_TYPES = '28';
/** WORKSTATION_TRUST_ACCOUNT, as Windows creates gMSAs (Samba would otherwise store 4130, disabled). */
const UAC_WORKSTATION_TRUST = '4096';
const GMSA_CLASS = 'msDS-GroupManagedServiceAccount';

async function managedServiceAccountsDn(session: LdapSession, ctx: DomainContext): Promise<string> {
  const entry = await session.read(`<WKGUID=${MSA_CONTAINER_WKGUID},${ctx.baseDn}>`, ['cn']);
  if (!entry) {
    throw fatal(
      ErrorType.PreconditionFailed,
      `the domain has no Managed Service Accounts container (well-known GUID ${MSA_CONTAINER_WKGUID}); ` +
        'gMSAs need a domain schema of Windows Server 2012 or later',
    );
  }
  return entry.dn;
}

const isGmsa = (entry: Record<string, unknown>) =>
  [entry.objectClass].flat().some((c) => String(c).toLowerCase() === GMSA_CLASS.toLowerCase());

/** What an existing account of the gMSA's name is to `owner`; refuses (no write) a non-gMSA, a privileged or a foreign one. */
async function classify(session: LdapSession, sam: string, entry: Entry, owner: Owner) {
  if (!isGmsa(entry)) {
    throw fatal(
      ErrorType.Conflict,
      `the name ${sam} belongs to ${entry.dn}, which is not a group managed service account`,
    );
  }
  return standingOf(session, entry, 'gmsa', `gMSA ${sam} (${entry.dn})`, owner);
}

export async function ensureGmsa(session: LdapSession, input: EnsureGmsaInput, now: Date): Promise<GmsaResult> {
  checkGmsaName(input.name);
  if (input.allowedPrincipalSids.length === 0) {
    throw fatal(ErrorType.InvalidInput, `gMSA ${input.name}: name at least one principal allowed to read its password`);
  }
  for (const sid of input.allowedPrincipalSids) {
    try {
      sidFromString(sid);
    } catch {
      throw fatal(ErrorType.InvalidInput, `gMSA ${input.name}: ${JSON.stringify(sid)} is not a SID`);
    }
  }
  const owner = ownerOf(input);
  refuseWellKnownName(`gMSA ${input.name}`, input.name);
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const sam = `${input.name}$`;
  const dnsHostName = `${input.name}.${ctx.dnsName}`;
  const spns = [`host/${input.name}`, `host/${dnsHostName}`];
  const attrs = [
    'msDS-GroupMSAMembership',
    'dNSHostName',
    'servicePrincipalName',
    'msDS-SupportedEncryptionTypes',
    ...OWNERSHIP_ATTRIBUTES,
  ];

  let entry = await findBySam(session, ctx, sam, attrs);
  let standing = entry && (await classify(session, sam, entry, owner));
  let created = false;
  if (!entry) {
    const { usable, pending } = pickRootKey(await listRootKeys(session, ctx), now);
    if (!usable) {
      throw fatal(ErrorType.PreconditionFailed, `cannot create gMSA ${input.name} yet: ${tenHourRule(now, pending)}`);
    }
    const dn = `CN=${escapeDnValue(input.name)},${await managedServiceAccountsDn(session, ctx)}`;
    created = await session.run(`creating gMSA ${dn}`, async (c) => {
      try {
        await c.add(dn, [
          new Attribute({ type: 'objectClass', values: [GMSA_CLASS] }),
          new Attribute({ type: 'cn', values: [input.name] }),
          new Attribute({ type: 'sAMAccountName', values: [sam] }),
          new Attribute({ type: 'dNSHostName', values: [dnsHostName] }),
          new Attribute({ type: 'msDS-ManagedPasswordInterval', values: [PASSWORD_INTERVAL_DAYS] }),
          new Attribute({
            type: 'msDS-GroupMSAMembership',
            values: [gmsaMembershipDescriptor(input.allowedPrincipalSids)],
          }),
          new Attribute({ type: 'servicePrincipalName', values: spns }),
          new Attribute({ type: 'msDS-SupportedEncryptionTypes', values: [ENCRYPTION_TYPES] }),
          new Attribute({ type: 'userAccountControl', values: [UAC_WORKSTATION_TRUST] }),
          // In the add itself: a gMSA whose creator dies before it reports is still marked ours.
          markerAttribute(claim(undefined, owner.binding, true)),
        ]);
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false; // a concurrent run made it: converge below
        throw err;
      }
    });
    entry = await findBySam(session, ctx, sam, attrs);
    if (!entry) throw transient(`gMSA ${input.name} is not visible yet after creating it`);
    standing = created ? { ownership: 'ours', marker: markerOf(entry)! } : await classify(session, sam, entry, owner);
  }

  // Converge: merge every principal into the descriptor (other trustees stay); on a gMSA this product made, also
  // add missing SPNs and fix the host name. An adopted one gets our readers and our marker, nothing else.
  const changes: Change[] = [];
  const marker = standing?.ownership === 'ours' ? standing.marker : undefined;
  const adopted = !marker;
  if (!usedBy(marker, owner.binding)) changes.push(markerChange({ ...marker, ...claim(marker, owner.binding, false) }));
  let descriptor = firstBuffer(entry, 'msDS-GroupMSAMembership') ?? gmsaMembershipDescriptor([]);
  let membershipChanged = false;
  for (const sid of input.allowedPrincipalSids) {
    const merged = addTrustee(descriptor, sid);
    descriptor = merged.descriptor;
    membershipChanged ||= merged.changed;
  }
  if (membershipChanged) {
    changes.push(replace('msDS-GroupMSAMembership', [descriptor]));
  }
  if (marker?.createdBy !== undefined) changes.push(...hostFixes(entry, dnsHostName, spns));
  if (changes.length > 0) {
    const dn = entry.dn;
    await session.run(adopted ? `adopting gMSA ${dn}` : `updating gMSA ${dn}`, (c) => c.modify(dn, changes));
  }
  const sid = firstBuffer(entry, 'objectSid');
  if (!sid) throw fatal(ErrorType.PreconditionFailed, `${entry.dn} has no objectSid`);
  return {
    dn: entry.dn,
    sid: sidToString(sid),
    created,
    membershipChanged: created ? false : membershipChanged,
    ...(adopted ? { adopted } : {}),
  };
}

/** The host name, SPNs and encryption types a gMSA of ours should have; an admin's own choices are kept. */
function hostFixes(entry: Entry, dnsHostName: string, spns: string[]): Change[] {
  const changes: Change[] = [];
  if (first(entry, 'dNSHostName')?.toLowerCase() !== dnsHostName.toLowerCase()) {
    changes.push(replace('dNSHostName', [dnsHostName]));
  }
  const present = new Set(all(entry, 'servicePrincipalName').map((s) => s.toLowerCase()));
  const missing = spns.filter((s) => !present.has(s.toLowerCase()));
  if (missing.length > 0) {
    changes.push(
      new Change({ operation: 'add', modification: new Attribute({ type: 'servicePrincipalName', values: missing }) }),
    );
  }
  // Encryption types an admin set (say AES only) are theirs to keep; only an account without any gets the default.
  if (first(entry, 'msDS-SupportedEncryptionTypes') === undefined) {
    changes.push(replace('msDS-SupportedEncryptionTypes', [ENCRYPTION_TYPES]));
  }
  return changes;
}

function replace(type: string, values: string[] | Buffer[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
}

export async function removeGmsa(session: LdapSession, input: RemoveGmsaInput): Promise<RemovalResult> {
  const owner = ownerOf(input);
  checkGmsaName(input.name);
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const entry = await findBySam(session, ctx, `${input.name}$`, OWNERSHIP_ATTRIBUTES);
  if (!entry) return { removed: false };
  // Not a gMSA, not ours, or not used by this binding: whatever an attempt reported, it is not ours to remove.
  const marker = isGmsa(entry) ? markerOf(entry) : undefined;
  if (!usedBy(marker, owner.binding)) return { dn: entry.dn, removed: false };
  const next = release(marker, owner.binding);
  if (next.action === 'foreign') return { dn: entry.dn, removed: false };
  if (next.action === 'release') {
    // The readers this binding merged in stay: the removal input does not say which they were.
    await session.run(`releasing gMSA ${entry.dn} from binding ${owner.binding}`, (c) =>
      c.modify(entry.dn, markerChange(remaining(marker!, next.next))),
    );
    return { dn: entry.dn, removed: false };
  }
  await session.run(`deleting gMSA ${entry.dn}`, (c) => c.del(entry.dn));
  return { dn: entry.dn, removed: true };
}
