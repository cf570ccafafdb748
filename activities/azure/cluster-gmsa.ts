/** STUB (contract author): disableClusterGmsa. The owning work replaces this file. */
import type { LifecycleActivities } from '../../contract/lifecycle.js';
import type { AzureClients } from './clients.js';

export function createClusterGmsaActivities(
  _clients: AzureClients,
): Partial<Pick<LifecycleActivities, 'disableClusterGmsa'>> {
  return {};
}
