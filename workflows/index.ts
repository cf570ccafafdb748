// The worker's workflowsPath: every export here is a workflow type.
export { provisionGmsa } from './provision.js';
export { scaleSetIdentities } from './scale-set-identities.js';
export { deprovisionGmsa } from './deprovision.js';
export { rotateGmsaUserPassword } from './rotate-password.js';
export { repairGmsa } from './repair.js';
export { validateGmsa } from './validate.js';
export { gmsaAccess } from './access.js';
export { gmsaSampleWorkload } from './sample-workload.js';
