/**
 * What every start of a run says about its workflow tasks. A workflow task taken by a worker that then dies
 * (kill -9, a lost node) goes to another worker only after this timeout; Temporal's default is 10 s. Our tasks take
 * milliseconds (the workflows only decide; activities do the work): in a 200-binding fleet on 2 cores the slowest
 * took 1.1 s (bench:fleet prints them), so 3 s leaves a busy worker a wide margin, and a dead one costs each of its
 * runs 3 s instead of 10.
 */
export const WORKFLOW_TASK_TIMEOUT = '3 seconds';
