/**
 * Knobs that make the fake as slow as real Azure, from the medians and bad cases (taken as p95) in the project's
 * latency model, scaled: `scale` 1 is real time (an AKS gMSA enable takes ~6 min), 0.01 fits a chaos test.
 */
import type { Duration, Knobs } from './knobs.js';

const s = (median: number, p95: number, scale: number): Duration => ({ median: median * scale, p95: p95 * scale });

export function azureLikeKnobs(scale = 1): Partial<Knobs> {
  return {
    latencyMs: {
      '*': s(300, 2_000, scale),
      'GET managedClusters': s(500, 3_000, scale),
      'PUT managedClusters': s(5_000, 20_000, scale),
      'POST listClusterUserCredential': s(700, 5_000, scale),
      'POST listClusterAdminCredential': s(700, 5_000, scale),
      'PUT userAssignedIdentities': s(1_500, 8_000, scale),
      'PUT accessPolicies': s(2_000, 15_000, scale),
      'PUT roleAssignments': s(3_000, 15_000, scale),
      'PUT secrets': s(200, 2_000, scale),
      'GET secrets': s(100, 1_000, scale),
    },
    lroMs: {
      '*': s(2_000, 10_000, scale),
      'PUT managedClusters': s(360_000, 1_200_000, scale),
      'PUT vaults': s(15_000, 210_000, scale),
      'PATCH virtualMachineScaleSets': s(40_000, 360_000, scale),
    },
    // ARM asks for polls every few seconds; scaled so the number of polls stays realistic.
    lroRetryAfterSec: Math.max(0, Math.round(10 * scale)),
    rbacPropagationMs: Math.round(60_000 * scale),
  };
}

/** A knobs update as JSON may name the preset: `{ "azureLike": 0.01, ...overrides }`. */
export function expandPreset(patch: Partial<Knobs> & { azureLike?: number }): Partial<Knobs> {
  const { azureLike, ...rest } = patch;
  if (azureLike === undefined) return rest;
  const base = azureLikeKnobs(azureLike);
  return {
    ...base,
    ...rest,
    latencyMs: { ...base.latencyMs, ...rest.latencyMs },
    lroMs: { ...base.lroMs, ...rest.lroMs },
  };
}
