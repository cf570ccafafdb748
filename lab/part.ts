/**
 * A lab part: one stand-in for the outside world. `start` is idempotent (fast when already up) and returns the
 * settings a worker needs to talk to it; these land in `.lab/lab.env`. `stop` stops it by pid.
 */
export interface LabPart {
  name: string;
  /** `before`: the settings of the parts started earlier (the Azure fake hands out the Kubernetes kubeconfig). */
  start(before?: Readonly<Record<string, string>>): Promise<Record<string, string>>;
  stop(): Promise<void>;
  /**
   * For a part that can be slow to start (a first build): writes what its users need before it is up (a kubeconfig)
   * and returns the settings `start` will return, so `npm start` serves at once and lets it join when it is up.
   */
  prepare?(): Promise<Record<string, string>>;
  /** True when it is up already (its pid file names a live process): a runner that finds it so leaves it running. */
  running(): boolean;
}
