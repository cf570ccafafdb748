/** STUB (contract author): inspectCluster, listSecretReaders. The owning work replaces this file. */
import type { InspectionActivities } from '../../contract/inspection.js';
import type { AzureClients } from './clients.js';

export function createInspectionActivities(_clients: AzureClients): Partial<InspectionActivities> {
  return {};
}
