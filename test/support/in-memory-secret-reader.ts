/** The in-memory Key Vault secret reader the AD tests use; it lives in lab/ because the benchmarks use it too. */
export { InMemorySecretReader } from '../../lab/in-memory-secret-reader.js';
