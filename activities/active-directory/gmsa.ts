/**
 * ensureGmsa / removeGmsa: the group Managed Service Account, in the domain's well-known Managed Service Accounts
 * container, readable (msDS-ManagedPassword) by the principals in its msDS-GroupMSAMembership descriptor.
 */
import { Attribute, Change } from 'ldapts';
import { addTrustee, gmsaMembershipDescriptor } from '../../domain/security-descriptor.js';
import { sidFromString, sidToString } from '../../domain/sid.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import type { EnsureGmsaInput, GmsaResult } from '../../contract/activities.js';
import { findBySam, readDomainContext, requireDomain, type DomainContext } from './domain-context.js';
import { listRootKeys, pickRootKey, tenHourRule } from './kds-root-key.js';
import { isAlreadyExists } from './ldap-errors.js';
import { all, first, firstBuffer, type LdapSession } from './ldap-session.js';
import { checkGmsaName, escapeDnValue } from './names.js';

/** GUID_MANAGED_SERVICE_ACCOUNTS_CONTAINER_W: found this way even where the container was renamed or localised. */
const MSA_CONTAINER_WKGUID = '1eb93889e40c45df9f0c64d23bbb6237';
/** The interval New-ADServiceAccount and Samba default to; systemOnly, so it can be set only at creation. */
const PASSWORD_INTERVAL_DAYS = '30';
/** RC4 | AES128 | AES256, what New-ADServiceAccount writes. */
const ENCRYPTION_TYPES = '28';
/** WORKSTATION_TRUST_ACCOUNT, as Windows creates gMSAs (Samba would otherwise store 4130, disabled). */
const UAC_WORKSTATION_TRUST = '4096';
const GMSA_CLASS = 'msDS-GroupManagedServiceAccount';

import type { RemovalResult, RemoveGmsaInput } from '../../contract/activities.js';

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
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const sam = `${input.name}$`;
  const dnsHostName = `${input.name}.${ctx.dnsName}`;
  const spns = [`host/${input.name}`, `host/${dnsHostName}`];
  const attrs = [
    'objectSid',
    'msDS-GroupMSAMembership',
    'dNSHostName',
    'servicePrincipalName',
    'msDS-SupportedEncryptionTypes',
  ];

  let entry = await findBySam(session, ctx, sam, attrs);
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
        ]);
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false; // a concurrent run made it: converge below
        throw err;
      }
    });
    entry = await findBySam(session, ctx, sam, attrs);
    if (!entry) throw transient(`gMSA ${input.name} is not visible yet after creating it`);
  }
  if (!isGmsa(entry)) {
    throw fatal(
      ErrorType.Conflict,
      `the name ${sam} belongs to ${entry.dn}, which is not a group managed service account`,
    );
  }

  // Converge: merge every principal into the descriptor (other trustees stay), add missing SPNs, fix the host name.
  const changes: Change[] = [];
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
  if (changes.length > 0) {
    const dn = entry.dn;
    await session.run(`updating gMSA ${dn}`, (c) => c.modify(dn, changes));
  }
  const sid = firstBuffer(entry, 'objectSid');
  if (!sid) throw fatal(ErrorType.PreconditionFailed, `${entry.dn} has no objectSid`);
  return { dn: entry.dn, sid: sidToString(sid), created, membershipChanged: created ? false : membershipChanged };
}

function replace(type: string, values: string[] | Buffer[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
}

export async function removeGmsa(session: LdapSession, input: RemoveGmsaInput): Promise<RemovalResult> {
  checkGmsaName(input.name);
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const entry = await findBySam(session, ctx, `${input.name}$`, []);
  if (!entry) return { removed: false };
  if (!isGmsa(entry)) {
    throw fatal(
      ErrorType.Conflict,
      `the name ${input.name}$ belongs to ${entry.dn}, which is not a gMSA; not removing it`,
    );
  }
  await session.run(`deleting gMSA ${entry.dn}`, (c) => c.del(entry.dn));
  return { dn: entry.dn, removed: true };
}
