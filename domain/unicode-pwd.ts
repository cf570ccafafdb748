/**
 * The value AD takes in `unicodePwd`: the password wrapped in double quotes, UTF-16LE, sent as binary. A JS string
 * would go out as UTF-8 and AD would refuse it ("not allowed to set the NT hash password directly").
 */

export function encodeUnicodePwd(password: string): Buffer {
  if (password.length === 0) throw new Error('empty password');
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** The inverse, for tests and diagnostics. */
export function decodeUnicodePwd(value: Uint8Array): string {
  const text = Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf16le');
  if (value.length % 2 !== 0 || text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) {
    throw new Error('not a unicodePwd value');
  }
  return text.slice(1, -1);
}
