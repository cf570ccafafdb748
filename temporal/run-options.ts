/**
 * What every start of a run says about its workflow tasks. A workflow task taken by a worker that then dies
 * (kill -9, a lost node) goes to another worker only after this timeout; Temporal's default is 10 s. Our tasks take
 * milliseconds (the workflows only decide; activities do the work), so 5 s still leaves a busy worker a wide
 * margin, and a dead one costs each of its runs half as long.
 */
export const WORKFLOW_TASK_TIMEOUT = '5 seconds';
