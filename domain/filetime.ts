/**
 * Windows FILETIME / NTTIME: 100-ns intervals since 1601-01-01 UTC, as AD writes them in LargeInteger attributes
 * (msKds-CreateTime, msKds-UseStartTime, pwdLastSet, accountExpires) as decimal strings.
 */

/** 1601-01-01 to 1970-01-01 in 100-ns units. */
const EPOCH_DIFFERENCE = 116_444_736_000_000_000n;
/** accountExpires / maximum values meaning "never". */
export const FILETIME_NEVER = 0x7fff_ffff_ffff_ffffn;

export function fileTimeFromDate(date: Date): bigint {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new Error('invalid date');
  return BigInt(ms) * 10_000n + EPOCH_DIFFERENCE;
}

/** Millisecond precision: the sub-millisecond part of the FILETIME is dropped. */
export function dateFromFileTime(value: bigint | string): Date {
  const ticks = typeof value === 'bigint' ? value : parseFileTime(value);
  return new Date(Number((ticks - EPOCH_DIFFERENCE) / 10_000n));
}

export function parseFileTime(text: string): bigint {
  if (!/^\d{1,19}$/.test(text.trim())) throw new Error(`not a FILETIME: ${JSON.stringify(text)}`);
  return BigInt(text.trim());
}

export const fileTimeString = (date: Date): string => fileTimeFromDate(date).toString();
