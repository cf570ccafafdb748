/** MSDS-MANAGEDPASSWORD_BLOB (MS-ADTS 2.2.19): what a permitted principal reads from msDS-ManagedPassword. */
export interface ManagedPasswordBlob {
  version: number;
  length: number;
  /** The current password: UTF-16 code units up to the terminating NUL, as raw bytes. */
  currentPassword: Buffer;
  hasPreviousPassword: boolean;
}

export function parseManagedPasswordBlob(blob: Buffer): ManagedPasswordBlob {
  if (blob.length < 16) throw new Error(`managed password blob too short (${blob.length} bytes)`);
  const currentOffset = blob.readUInt16LE(8);
  let end = currentOffset;
  while (end + 1 < blob.length && blob.readUInt16LE(end) !== 0) end += 2;
  return {
    version: blob.readUInt16LE(0),
    length: blob.readUInt32LE(4),
    currentPassword: blob.subarray(currentOffset, end),
    hasPreviousPassword: blob.readUInt16LE(10) !== 0,
  };
}
