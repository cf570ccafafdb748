/**
 * A lab part: one stand-in for the outside world. `start` is idempotent (fast when already up) and returns the
 * settings a worker needs to talk to it; these land in `.lab/lab.env`. `stop` stops it by pid.
 */
export interface LabPart {
  name: string;
  start(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}
