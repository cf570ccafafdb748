/**
 * A SecretReader double for tests: secrets kept in a Map keyed by vault URI and name. Stands in for the Key Vault
 * reader (activities/key-vault.ts) so the AD tests need no vault; it behaves like it for a missing secret (throws).
 */
import type { SecretReader } from '../../activities/types.js';

export class InMemorySecretReader implements SecretReader {
  private readonly values = new Map<string, string>();
  reads = 0;

  private static key(vaultUri: string, name: string) {
    return `${vaultUri.replace(/\/+$/, '')}/secrets/${name}`;
  }

  set(vaultUri: string, name: string, value: string): void {
    this.values.set(InMemorySecretReader.key(vaultUri, name), value);
  }

  async read(vaultUri: string, name: string): Promise<string> {
    this.reads++;
    const value = this.values.get(InMemorySecretReader.key(vaultUri, name));
    if (value === undefined) throw new Error(`secret ${name} not found in ${vaultUri}`);
    return value;
  }
}
