/** STUB (contract author): runValidationPod. The owning work replaces this file. */
import type { ValidationActivities } from '../../contract/validation.js';
import type { KubernetesActivityDeps } from './client.js';

export function createValidationPodActivities(_deps: KubernetesActivityDeps): Partial<ValidationActivities> {
  return {};
}
