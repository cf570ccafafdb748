/** STUB (contract author): listUserSecrets. The owning work replaces this file. */
import type { RotationActivities } from '../contract/rotation.js';

export function createUserSecretsActivity(): Partial<Pick<RotationActivities, 'listUserSecrets'>> {
  return {};
}
