/**
 * GUIDs as AD stores them (objectGUID, MS-DTYP 2.3.4.2): the first three fields little-endian, the last eight bytes
 * in order, so the bytes 40 bb b3 11 d1 72 ... read as 11b3bb40-72d1-....
 */

const GUID_PATTERN = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

export function guidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Error(`a GUID has 16 bytes, got ${bytes.length}`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return [
    hex(b.readUInt32LE(0), 8),
    hex(b.readUInt16LE(4), 4),
    hex(b.readUInt16LE(6), 4),
    b.subarray(8, 10).toString('hex'),
    b.subarray(10, 16).toString('hex'),
  ].join('-');
}

export function guidFromString(text: string): Buffer {
  const m = GUID_PATTERN.exec(text.trim());
  if (!m) throw new Error(`not a GUID: ${JSON.stringify(text)}`);
  const out = Buffer.alloc(16);
  out.writeUInt32LE(parseInt(m[1]!, 16), 0);
  out.writeUInt16LE(parseInt(m[2]!, 16), 4);
  out.writeUInt16LE(parseInt(m[3]!, 16), 6);
  Buffer.from(`${m[4]}${m[5]}`, 'hex').copy(out, 8);
  return out;
}
