/** Reading configuration from the environment, with errors that name the variable. */

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** The trimmed value, or undefined when unset or empty. */
export function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

export function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const v = optional(env, name);
  if (!v) throw new ConfigError(name, `is required (${what})`);
  return v;
}

/** A whole-number setting of at least `min`, or undefined when unset. */
export function wholeNumber(env: NodeJS.ProcessEnv, name: string, min = 0): number | undefined {
  const v = optional(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(name, `must be a whole number ≥ ${min}, got '${v}'`);
  return n;
}
