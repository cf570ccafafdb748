// A worker of the build before the retries moved to the server: provisionGmsa is the retry loop in workflow code,
// one activity per attempt (`<step>-<attempt>`). Its runs are the ones the API must keep reading right.
export { provisionGmsaV1 as provisionGmsa } from '../../workflows/legacy/provision-v1.js';
