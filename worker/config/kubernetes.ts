/**
 * Where the worker gets a cluster's kubeconfig:
 *   KUBECONFIG=<file>   that file (any cluster, and the lab); KUBE_CONTEXT picks a context other than the current one
 *   KUBECONFIG=aks      the AKS cluster credential fetched through Azure for the cluster named in each request;
 *                       KUBE_AKS_CREDENTIALS=user (default: listClusterUserCredential) or admin
 * Unset: the Kubernetes steps fail with "not configured".
 */
import { KubeConfig } from '@kubernetes/client-node';
import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, optional } from '../../config/env.js';

export type KubernetesConfig =
  | { source: 'file'; path: string; context?: string }
  | { source: 'aks'; credentials: 'user' | 'admin'; context?: string };

export function readKubernetesConfig(env: NodeJS.ProcessEnv = process.env): KubernetesConfig | undefined {
  const value = optional(env, 'KUBECONFIG');
  const context = optional(env, 'KUBE_CONTEXT');
  const credentials = optional(env, 'KUBE_AKS_CREDENTIALS');
  if (value === undefined) {
    if (context !== undefined) throw new ConfigError('KUBE_CONTEXT', 'is set but KUBECONFIG is not');
    if (credentials !== undefined) throw new ConfigError('KUBE_AKS_CREDENTIALS', 'is set but KUBECONFIG is not "aks"');
    return undefined;
  }
  if (value.toLowerCase() === 'aks') {
    if (credentials !== undefined && credentials !== 'user' && credentials !== 'admin')
      throw new ConfigError('KUBE_AKS_CREDENTIALS', `must be "user" or "admin", not "${credentials}"`);
    const c: KubernetesConfig = { source: 'aks', credentials: credentials === 'admin' ? 'admin' : 'user' };
    return context === undefined ? c : { ...c, context };
  }
  if (credentials !== undefined) throw new ConfigError('KUBE_AKS_CREDENTIALS', 'applies only when KUBECONFIG is "aks"');
  // kubectl merges a path list; one file keeps it unambiguous which cluster the worker changes.
  if (value.includes(path.delimiter) && value.split(path.delimiter).filter(Boolean).length > 1)
    throw new ConfigError('KUBECONFIG', `must name one kubeconfig file (or "aks"), not a list: ${value}`);
  const file = path.resolve(value.replace(new RegExp(`${path.delimiter}+$`), ''));
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch (e) {
    throw new ConfigError(
      'KUBECONFIG',
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (!isFile) throw new ConfigError('KUBECONFIG', `${file} is not a file (expected a kubeconfig file, or "aks")`);
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (e) {
    throw new ConfigError('KUBECONFIG', `${file} is not a kubeconfig: ${(e as Error).message}`);
  }
  const contexts = kc.getContexts().map((c) => c.name);
  if (context !== undefined && !contexts.includes(context))
    throw new ConfigError(
      'KUBE_CONTEXT',
      `${file} has no context "${context}" (it has: ${contexts.join(', ') || 'none'})`,
    );
  if (context === undefined && !kc.getCurrentCluster())
    throw new ConfigError('KUBECONFIG', `${file} has no current-context with a cluster; set one or set KUBE_CONTEXT`);
  return context === undefined ? { source: 'file', path: file } : { source: 'file', path: file, context };
}
