/**
 * Security identifiers (MS-DTYP 2.4.2): `S-1-5-21-a-b-c-rid` <-> the binary form AD stores in objectSid and in ACEs
 * (revision, sub-authority count, 48-bit big-endian authority, little-endian 32-bit sub-authorities).
 */

const MAX_SUB_AUTHORITIES = 15;
const SID_PATTERN = /^S-1-(\d+)((?:-\d+){0,15})$/i;

export function sidFromString(text: string): Buffer {
  const match = SID_PATTERN.exec(text.trim());
  if (!match) throw new Error(`not a SID: ${JSON.stringify(text)}`);
  const authority = Number(match[1]);
  if (!Number.isSafeInteger(authority) || authority >= 2 ** 48) throw new Error(`SID authority out of range: ${text}`);
  const subs = (match[2] ?? '').split('-').slice(1).map(Number);
  const out = Buffer.alloc(8 + 4 * subs.length);
  out[0] = 1;
  out[1] = subs.length;
  out.writeUIntBE(authority, 2, 6);
  subs.forEach((sub, i) => {
    if (sub > 0xffffffff) throw new Error(`SID sub-authority out of range: ${text}`);
    out.writeUInt32LE(sub, 8 + 4 * i);
  });
  return out;
}

/** Bytes a SID at `offset` occupies, checked against the buffer. */
export function sidLength(bytes: Uint8Array, offset = 0): number {
  if (bytes.length < offset + 8) throw new Error(`SID truncated at offset ${offset}`);
  const count = bytes[offset + 1]!;
  if (bytes[offset] !== 1 || count > MAX_SUB_AUTHORITIES) throw new Error(`malformed SID at offset ${offset}`);
  const length = 8 + 4 * count;
  if (bytes.length < offset + length) throw new Error(`SID truncated at offset ${offset}`);
  return length;
}

export function sidToString(bytes: Uint8Array, offset = 0): string {
  const length = sidLength(bytes, offset);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset + offset, length);
  const parts = [`S-${buf[0]}-${buf.readUIntBE(2, 6)}`];
  for (let i = 8; i < length; i += 4) parts.push(String(buf.readUInt32LE(i)));
  return parts.join('-');
}

/** Well-known SIDs the product writes. */
export const BUILTIN_ADMINISTRATORS = 'S-1-5-32-544';
