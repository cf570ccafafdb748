/**
 * How often a binding's Schedules run (options.repairEvery, options.rotatePasswordEvery): a whole number of
 * minutes, hours or days ("30m", "6h", "30d"), or "off" where a Schedule may be turned off. Pure: the request's
 * schema checks the text with the patterns below, the Schedules activity turns it into milliseconds.
 */

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** At most 4 digits: 9999 days is past any rotation policy, and the number stays well inside a safe integer. */
const DURATION = '[1-9][0-9]{0,3}[mhd]';
/** A duration, for a Schedule that is either asked for or absent (options.rotatePasswordEvery). */
export const EVERY_PATTERN = `^${DURATION}$`;
/** A duration or "off" (options.repairEvery, which has a default). */
export const EVERY_OR_OFF_PATTERN = `^(off|${DURATION})$`;

export const EVERY_RULE = 'a whole number of minutes, hours or days, for example 30m, 6h or 30d';
export const EVERY_OR_OFF_RULE = `${EVERY_RULE}, or off`;

/** The interval in milliseconds; undefined for "off"; throws a RangeError naming the value for anything else. */
export function everyMs(text: string): number | undefined {
  if (text === 'off') return undefined;
  const m = new RegExp(EVERY_PATTERN).exec(text);
  if (!m) throw new RangeError(`"${text}" is not ${EVERY_OR_OFF_RULE}`);
  return Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as Unit];
}

/** The text for an interval in milliseconds, in the largest unit that divides it ("6h", not "360m"). */
export function everyText(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (ms > 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
