/**
 * A SecretReader stand-in for tests and benchmarks: secrets kept in a Map keyed by vault URI and name, so the AD
 * tests need no vault.
 *
 * It is the product's own Key Vault reader (createSecretReader, activities/azure/key-vault.ts) over an in-memory
 * secret client, so what it throws is classified by the product's code, exactly as in production: a missing secret is
 * Key Vault's 404 SecretNotFound and so a non-retryable NotFound; a queued `failNext` is any other Key Vault answer.
 */
import type { AzureClients } from '../activities/azure/clients.js';
import { createSecretReader } from '../activities/azure/key-vault.js';
import type { SecretReader } from '../contract/activities.js';

/** What the Azure SDK throws for an HTTP error answer (a RestError): status, service code, message. */
function restError(statusCode: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'RestError', statusCode, code });
}

export class InMemorySecretReader implements SecretReader {
  private readonly values = new Map<string, string>();
  private readonly failures: Error[] = [];
  private readonly reader: SecretReader;
  reads = 0;

  constructor() {
    const clients = {
      secrets: (vaultUri: string) => ({
        getSecret: async (name: string) => {
          const queued = this.failures.shift();
          if (queued) throw queued;
          const value = this.values.get(InMemorySecretReader.key(vaultUri, name));
          if (value === undefined) {
            // Key Vault's answer for a name with no secret (Get Secret, REST API 7.5: 404, error.code SecretNotFound).
            throw restError(
              404,
              'SecretNotFound',
              `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
            );
          }
          return { name, value, properties: { name, vaultUrl: vaultUri } };
        },
      }),
    } as unknown as AzureClients;
    this.reader = createSecretReader(clients);
  }

  private static key(vaultUri: string, name: string) {
    return `${vaultUri.replace(/\/+$/, '')}/secrets/${name}`;
  }

  set(vaultUri: string, name: string, value: string): void {
    this.values.set(InMemorySecretReader.key(vaultUri, name), value);
  }

  /** The next read gets this Key Vault error answer instead of the secret (e.g. 503 ServiceUnavailable). */
  failNext(statusCode: number, code: string, message: string): void {
    this.failures.push(restError(statusCode, code, message));
  }

  async read(vaultUri: string, name: string): Promise<string> {
    this.reads++;
    return this.reader.read(vaultUri, name);
  }
}
