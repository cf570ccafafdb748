/** STUB (contract author): stage, publish and drop the rotated password. The owning work replaces this file. */
import type { RotationActivities } from '../../contract/rotation.js';
import type { AzureClients } from './clients.js';

export function createSecretVersionActivities(
  _clients: AzureClients,
): Partial<Pick<RotationActivities, 'stageUserPassword' | 'publishUserPassword' | 'dropStagedPassword'>> {
  return {};
}
