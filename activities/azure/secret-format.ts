/**
 * The password in the gMSA host secret (whose format is domain/ccg-secret.ts), generated to pass Active
 * Directory's default complexity policy.
 */
import { randomInt } from 'node:crypto';

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
// No quote, backslash or colon: the value crosses PowerShell, LDAP (quoted unicodePwd) and the plugin's split.
const SYMBOLS = '!#%*+-.=?@^_~';
const ALL = UPPER + LOWER + DIGITS + SYMBOLS;

/** AD's rule: at least three of the four character classes, and not containing the account name. */
export function meetsAdComplexity(password: string, user: string, minLength = 14): boolean {
  if (password.length < minLength) return false;
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(password)).length;
  if (classes < 3) return false;
  return user.length < 3 || !password.toLowerCase().includes(user.toLowerCase());
}

/** A 32-character password with every class present, from the system's cryptographic random source. */
export function generatePassword(user: string, length = 32): string {
  for (;;) {
    const chars = [UPPER, LOWER, DIGITS, SYMBOLS].map((set) => set[randomInt(set.length)] as string);
    while (chars.length < length) chars.push(ALL[randomInt(ALL.length)] as string);
    for (let i = chars.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
    }
    const password = chars.join('');
    if (meetsAdComplexity(password, user)) return password;
  }
}
