// The worker's workflowsPath: every export here is a workflow type.
export { provisionGmsa } from './provision.js';
export { scaleSetIdentities } from './scale-set-identities.js';
