/**
 * The namespace holds the product's search attributes before a worker takes its tasks: a workflow that upserts one
 * the server does not know (GmsaPhase) fails every workflow task and the run stalls, so a worker finds out at start
 * instead, and names what to register.
 */
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from './search-attributes.js';
import { connectionOptions, type TemporalSettings } from './settings.js';

/** The product's search attributes the namespace does not have (none: all registered). */
export async function missingSearchAttributes(settings: TemporalSettings): Promise<string[]> {
  const connection = await Connection.connect(connectionOptions(settings));
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: settings.namespace,
    });
    const known = new Set(Object.keys(customAttributes ?? {}));
    return Object.values(SEARCH_ATTRIBUTES)
      .map((k) => k.name)
      .filter((name) => !known.has(name));
  } finally {
    await connection.close();
  }
}

/** What to run to register them (one command per attribute: the CLI takes one name each). */
export const registerCommands = (namespace: string, names: string[]) =>
  names.map((n) => `temporal operator search-attribute create --namespace ${namespace} --name ${n} --type Keyword`);
