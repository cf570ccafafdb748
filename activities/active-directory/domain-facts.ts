/** getDomainFacts: what the credential spec's DomainJoinConfig needs, all of it the domain's (not the gMSA's). */
import { guidToString } from '../../domain/guid.js';
import { sidToString } from '../../domain/sid.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import type { DomainFacts, GetDomainFactsInput } from '../../contract/activities.js';
import { readCrossRef, readDomainContext, requireDomain } from './domain-context.js';
import { firstBuffer, type LdapSession } from './ldap-session.js';
import { dnToDnsName } from './names.js';

export async function getDomainFacts(session: LdapSession, input: GetDomainFactsInput): Promise<DomainFacts> {
  const ctx = await readDomainContext(session);
  requireDomain(ctx, input.domainFqdn);
  const head = await session.read(ctx.baseDn, ['objectGUID', 'objectSid']);
  const guid = head && firstBuffer(head, 'objectGUID');
  const sid = head && firstBuffer(head, 'objectSid');
  const domain = await readCrossRef(session, ctx, ctx.baseDn);
  const forest = ctx.rootDomainDn === ctx.baseDn ? domain : await readCrossRef(session, ctx, ctx.rootDomainDn);
  if (!guid || !sid || !domain.netbiosName) {
    throw fatal(
      ErrorType.PreconditionFailed,
      `could not read the domain's objectGUID, objectSid and NetBIOS name from ${ctx.baseDn} and CN=Partitions`,
    );
  }
  return {
    dnsName: (domain.dnsRoot ?? ctx.dnsName).toLowerCase(),
    netbiosName: domain.netbiosName,
    forestRoot: (forest.dnsRoot ?? dnToDnsName(ctx.rootDomainDn)).toLowerCase(),
    domainGuid: guidToString(guid),
    domainSid: sidToString(sid),
  };
}
