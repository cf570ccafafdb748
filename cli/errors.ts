/** What can go wrong in the CLI, and the exit code each means: 2 for usage and refused input, 1 for the rest. */
import type { Problem as WireProblem } from '../api/schemas.js';

/** The command line or its input is wrong: exit 2. */
export class UsageError extends Error {}

/** RFC 9457 problem details as the API sends them; read without trust (a proxy may answer), so any may be absent. */
export type Problem = Partial<WireProblem>;

/** The API answered with an error status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    /** The start of a body that was not problem+json (a proxy's error page, say). */
    readonly text: string,
  ) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
  }
}

/** The API could not be reached (refused, timed out, DNS). */
export class Unreachable extends Error {}

export const exitCodeOf = (err: unknown): number =>
  err instanceof UsageError || (err instanceof ApiError && err.status === 400) ? 2 : 1;
