/**
 * Self-relative security descriptors (MS-DTYP 2.4.6), as AD stores msDS-GroupMSAMembership: who may retrieve a
 * gMSA's password. Parses any descriptor, keeps ACEs it does not interpret byte for byte, and writes owner, group,
 * SACL, DACL in that order (the layout a Samba DC writes, so its bytes round-trip exactly).
 */
import { BUILTIN_ADMINISTRATORS, sidFromString, sidLength, sidToString } from './sid.js';

export const SE_DACL_PRESENT = 0x0004;
export const SE_SACL_PRESENT = 0x0010;
export const SE_SELF_RELATIVE = 0x8000;
export const ACCESS_ALLOWED_ACE_TYPE = 0;
const INHERIT_ONLY_ACE = 0x08;
/** What Windows and Samba grant in msDS-GroupMSAMembership (SDDL CCDCLCSWRPWPDTLOCRSDRCWDWO). */
export const GMSA_RETRIEVE_MASK = 0x000f01ff;
const ACL_REVISION = 2;
/** Simple ACE types whose body is mask + SID: allowed, denied, system audit, system alarm. */
const SIMPLE_ACE_TYPES = new Set([0, 1, 2, 3]);

export interface Ace {
  type: number;
  flags: number;
  mask: number;
  /** The trustee, for the simple ACE types; undefined for object or callback ACEs. */
  sid?: string;
  /** The ACE as found, for types this module does not interpret, so a rewrite keeps it unchanged. */
  raw?: Buffer;
}

export interface Acl {
  revision: number;
  aces: Ace[];
}

export interface SecurityDescriptor {
  control: number;
  owner?: string;
  group?: string;
  sacl?: Acl;
  dacl?: Acl;
}

function parseAcl(buf: Buffer, offset: number): Acl {
  if (buf.length < offset + 8) throw new Error(`ACL truncated at offset ${offset}`);
  const revision = buf[offset]!;
  const size = buf.readUInt16LE(offset + 2);
  const count = buf.readUInt16LE(offset + 4);
  if (buf.length < offset + size) throw new Error(`ACL at offset ${offset} runs past the descriptor`);
  const aces: Ace[] = [];
  let p = offset + 8;
  for (let i = 0; i < count; i++) {
    if (p + 8 > offset + size) throw new Error(`ACE ${i} runs past its ACL`);
    const type = buf[p]!;
    const flags = buf[p + 1]!;
    const aceSize = buf.readUInt16LE(p + 2);
    if (aceSize < 8 || p + aceSize > offset + size) throw new Error(`ACE ${i} has a bad size (${aceSize})`);
    const mask = buf.readUInt32LE(p + 4);
    if (SIMPLE_ACE_TYPES.has(type) && aceSize === 8 + sidLength(buf, p + 8)) {
      aces.push({ type, flags, mask, sid: sidToString(buf, p + 8) });
    } else {
      aces.push({ type, flags, mask, raw: Buffer.from(buf.subarray(p, p + aceSize)) });
    }
    p += aceSize;
  }
  return { revision, aces };
}

export function parseSecurityDescriptor(bytes: Uint8Array): SecurityDescriptor {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length < 20 || buf[0] !== 1) throw new Error('not a self-relative security descriptor');
  const control = buf.readUInt16LE(2);
  if (!(control & SE_SELF_RELATIVE)) throw new Error('security descriptor is not self-relative');
  const at = (field: number) => buf.readUInt32LE(field);
  const [ownerAt, groupAt, saclAt, daclAt] = [at(4), at(8), at(12), at(16)];
  const sd: SecurityDescriptor = { control };
  if (ownerAt) sd.owner = sidToString(buf, ownerAt);
  if (groupAt) sd.group = sidToString(buf, groupAt);
  if (control & SE_SACL_PRESENT && saclAt) sd.sacl = parseAcl(buf, saclAt);
  if (control & SE_DACL_PRESENT && daclAt) sd.dacl = parseAcl(buf, daclAt);
  return sd;
}

function buildAce(ace: Ace): Buffer {
  if (ace.raw) return ace.raw;
  if (ace.sid === undefined) throw new Error(`ACE of type ${ace.type} has neither a SID nor raw bytes`);
  const sid = sidFromString(ace.sid);
  const out = Buffer.alloc(8 + sid.length);
  out[0] = ace.type;
  out[1] = ace.flags;
  out.writeUInt16LE(out.length, 2);
  out.writeUInt32LE(ace.mask >>> 0, 4);
  sid.copy(out, 8);
  return out;
}

function buildAcl(acl: Acl): Buffer {
  const body = Buffer.concat(acl.aces.map(buildAce));
  const header = Buffer.alloc(8);
  header[0] = acl.revision;
  header.writeUInt16LE(8 + body.length, 2);
  header.writeUInt16LE(acl.aces.length, 4);
  return Buffer.concat([header, body]);
}

export function buildSecurityDescriptor(sd: SecurityDescriptor): Buffer {
  const parts: Buffer[] = [];
  const offsets = [0, 0, 0, 0];
  let next = 20;
  const place = (index: number, part: Buffer | undefined) => {
    if (!part) return;
    offsets[index] = next;
    parts.push(part);
    next += part.length;
  };
  place(0, sd.owner === undefined ? undefined : sidFromString(sd.owner));
  place(1, sd.group === undefined ? undefined : sidFromString(sd.group));
  place(2, sd.sacl && buildAcl(sd.sacl));
  place(3, sd.dacl && buildAcl(sd.dacl));
  let control = (sd.control | SE_SELF_RELATIVE) & ~(SE_DACL_PRESENT | SE_SACL_PRESENT);
  if (sd.dacl) control |= SE_DACL_PRESENT;
  if (sd.sacl) control |= SE_SACL_PRESENT;
  const header = Buffer.alloc(20);
  header[0] = 1;
  header.writeUInt16LE(control, 2);
  offsets.forEach((offset, i) => header.writeUInt32LE(offset, 4 + 4 * i));
  return Buffer.concat([header, ...parts]);
}

const allows = (ace: Ace, sid: string, mask: number) =>
  ace.type === ACCESS_ALLOWED_ACE_TYPE &&
  !(ace.flags & INHERIT_ONLY_ACE) &&
  ace.sid?.toUpperCase() === sid.toUpperCase() &&
  (ace.mask & mask) >>> 0 === mask >>> 0;

/** The descriptor New-ADServiceAccount writes: owner BUILTIN\Administrators, one allow ACE per principal. */
export function gmsaMembershipDescriptor(sids: string[]): Buffer {
  return buildSecurityDescriptor({
    control: SE_SELF_RELATIVE | SE_DACL_PRESENT,
    owner: BUILTIN_ADMINISTRATORS,
    dacl: {
      revision: ACL_REVISION,
      aces: sids.map((sid) => ({ type: ACCESS_ALLOWED_ACE_TYPE, flags: 0, mask: GMSA_RETRIEVE_MASK, sid })),
    },
  });
}

/** SIDs that an allow ACE grants `mask` to. */
export function allowedTrustees(bytes: Uint8Array, mask = GMSA_RETRIEVE_MASK): string[] {
  const aces = parseSecurityDescriptor(bytes).dacl?.aces ?? [];
  return aces.filter((ace) => ace.sid !== undefined && allows(ace, ace.sid, mask)).map((ace) => ace.sid!);
}

/**
 * Adds an allow ACE for `sid` unless one already grants `mask`; every other ACE, the owner, group and SACL stay as
 * they were. Returns the input bytes unchanged (changed: false) when nothing was missing.
 */
export function addTrustee(
  bytes: Uint8Array,
  sid: string,
  mask = GMSA_RETRIEVE_MASK,
): { descriptor: Buffer; changed: boolean } {
  sidFromString(sid); // refuse a malformed SID before touching anything
  const sd = parseSecurityDescriptor(bytes);
  if (sd.dacl?.aces.some((ace) => allows(ace, sid, mask))) {
    return { descriptor: Buffer.from(bytes), changed: false };
  }
  const dacl: Acl = sd.dacl ?? { revision: ACL_REVISION, aces: [] };
  dacl.aces.push({ type: ACCESS_ALLOWED_ACE_TYPE, flags: 0, mask, sid });
  return { descriptor: buildSecurityDescriptor({ ...sd, dacl }), changed: true };
}
