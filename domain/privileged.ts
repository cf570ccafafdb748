/**
 * Accounts the product never touches, whatever options.adopt says (DESIGN "A shared world"): the well-known
 * accounts by name (checked by the API before anything starts) and, in the directory, by RID, adminCount and
 * membership of a protected group (checked by the AD steps).
 */

/** sAMAccountNames of the built-in accounts (RIDs 500-503, 504 and the Windows defaults), compared case-blind. */
const WELL_KNOWN_ACCOUNTS = ['administrator', 'guest', 'krbtgt', 'defaultaccount', 'wdagutilityaccount'];

export const isWellKnownAccount = (sam: string) => WELL_KNOWN_ACCOUNTS.includes(sam.replace(/\$$/, '').toLowerCase());

/** Relative ids below this are well-known principals (built-in accounts and groups). */
const FIRST_ORDINARY_RID = 1000;

/**
 * Protected groups (AdminSDHolder's list, MS-ADTS 3.1.1.6.1.2) by RID: domain-relative 512 Domain Admins,
 * 516 Domain Controllers, 518 Schema Admins, 519 Enterprise Admins, 521 Read-only DCs, 526 Key Admins,
 * 527 Enterprise Key Admins; builtin (S-1-5-32-) 544 Administrators, 548 Account Operators, 549 Server Operators,
 * 550 Print Operators, 551 Backup Operators, 552 Replicator.
 */
const PROTECTED_DOMAIN_GROUP_RIDS = [512, 516, 518, 519, 521, 526, 527];
const PROTECTED_BUILTIN_GROUP_RIDS = [544, 548, 549, 550, 551, 552];

/** Why an account with this SID and these group SIDs (tokenGroups) is privileged; undefined when it is not. */
export function privilegeOf(sid: string, groupSids: readonly string[], adminCount?: number): string | undefined {
  const rid = Number(sid.split('-').pop());
  if (rid < FIRST_ORDINARY_RID) return `a well-known account (RID ${rid})`;
  if (adminCount === 1) return 'protected by AdminSDHolder (adminCount=1)';
  const domain = sid.slice(0, sid.lastIndexOf('-'));
  for (const g of groupSids) {
    const groupRid = Number(g.split('-').pop());
    const inDomain = g.slice(0, g.lastIndexOf('-')) === domain && PROTECTED_DOMAIN_GROUP_RIDS.includes(groupRid);
    const builtin = g.startsWith('S-1-5-32-') && PROTECTED_BUILTIN_GROUP_RIDS.includes(groupRid);
    if (inDomain || builtin) return `a member of a protected group (${g})`;
  }
  return undefined;
}
