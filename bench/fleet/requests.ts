/**
 * The bindings of one fleet: the README's lab request (examples/lab-request.json) with every name derived from the
 * bench's tag and the run's letter, so that runs never meet each other's objects in the shared DC and API server
 * (and AD's 15/20-character limits hold up to 999 bindings).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ProvisionRequest } from '../../domain/request.js';
import { PROJECT_ROOT } from '../../lab/paths.js';

export type Layout = 'own-identity' | 'shared-identity' | 'one-gmsa-many-clusters';

/**
 * Where the secrets live: one vault per cluster, each binding's secret in it (the README's lab request: one vault
 * for the lab cluster), or a vault per binding; and how the hosts are given read on it.
 */
export interface VaultLayout {
  vaults: 'cluster' | 'binding';
  access: 'rbac' | 'accessPolicy';
}

export const DEFAULT_VAULTS: VaultLayout = { vaults: 'cluster', access: 'rbac' };

export interface Fleet {
  label: string;
  layout: Layout;
  /** The clusters to seed in the fake, each with a Windows pool `win1`. */
  clusters: string[];
  requests: ProvisionRequest[];
}

const template = () =>
  JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'examples', 'lab-request.json'), 'utf8')) as ProvisionRequest;

/** Every name of the bench's objects starts with this (AD accounts and specs are removed by it afterwards). */
export const namePrefix = (tag: string) => `fl${tag}`;

function binding(
  cluster: string,
  names: { gmsa: string; site: string; identity: string; vault: string },
  access: VaultLayout['access'],
): ProvisionRequest {
  const r = template();
  r.cluster = { ...r.cluster, name: cluster };
  r.gmsa = { name: names.gmsa, standardUser: `gmsa-${names.gmsa}`, credentialSpecName: names.site };
  r.azure.keyVault = { name: names.vault, secretName: `gmsa-${names.gmsa}` };
  r.azure.managedIdentity = { name: names.identity };
  r.options.keyVaultAccess = access;
  return r;
}

/**
 * `n` bindings of run `run` (one letter): on one cluster, each with its own gMSA, user, secret, spec and identity
 * (`own-identity`) or one identity for all (`shared-identity`), the secrets in the cluster's vault or each in a
 * vault of its own (`vaults`); or one gMSA, user, vault and secret on `n` clusters, each cluster with its own
 * identity and spec (`one-gmsa-many-clusters`).
 */
export function fleet(
  tag: string,
  run: string,
  layout: Layout,
  n: number,
  label: string,
  vaults: VaultLayout = DEFAULT_VAULTS,
): Fleet {
  const base = `${namePrefix(tag)}${run}`;
  const spec = (i: number) => `${namePrefix(tag)}-${run}${i}`;
  if (layout === 'one-gmsa-many-clusters') {
    const clusters = Array.from({ length: n }, (_, k) => `aks-${base}${k}`);
    const names = (k: number) => ({ gmsa: base, site: spec(k), identity: `mi-${base}${k}`, vault: `kv-${base}` });
    return {
      label,
      layout,
      clusters,
      requests: clusters.map((c, k) => binding(c, names(k), vaults.access)),
    };
  }
  const cluster = `aks-${base}`;
  return {
    label,
    layout,
    clusters: [cluster],
    requests: Array.from({ length: n }, (_, i) =>
      binding(
        cluster,
        {
          gmsa: `${base}${i}`,
          site: spec(i),
          identity: layout === 'shared-identity' ? `mi-${base}` : `mi-${base}${i}`,
          vault: vaults.vaults === 'cluster' ? `kv-${base}` : `kv-${base}${i}`,
        },
        vaults.access,
      ),
    ),
  };
}
