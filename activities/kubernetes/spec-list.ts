/** STUB (contract author): listCredentialSpecs. The owning work replaces this file. */
import type { LifecycleActivities } from '../../contract/lifecycle.js';
import type { KubernetesActivityDeps } from './client.js';

export function createSpecListActivities(
  _deps: KubernetesActivityDeps,
): Partial<Pick<LifecycleActivities, 'listCredentialSpecs'>> {
  return {};
}
