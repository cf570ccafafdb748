/** What every route of the fake sees, and the shape of a route. */
import { armError, type Reply, type Request } from './arm-http.js';
import type { Knobs } from './knobs.js';
import { rgKey, type World } from './world.js';

export interface VaultEndpoints {
  /** Opens (or returns) the data-plane listener of a vault and gives its base URI; `port`: the one to try first. */
  open(vaultName: string, port?: number): Promise<string>;
  close(vaultName: string): void;
}

export interface Ctx {
  world: World;
  knobs: Knobs;
  req: Request;
  vaults: VaultEndpoints;
  /** The kubeconfig listClusterUserCredential hands out for a cluster. */
  kubeconfig(cluster: { name: string; fqdn: string }, admin: boolean): string;
}

export interface Route {
  method: string;
  pattern: RegExp;
  /** Operation name for knobs and the request log, e.g. `PUT managedClusters`. */
  op: string;
  /** The resource provider namespace, to check api-version against what the real clients send. */
  provider?: string;
  handle(ctx: Ctx, m: RegExpExecArray): Reply | Promise<Reply>;
}

const SEG = '([^/]+)';
/** `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{rest}` as a case-insensitive pattern. */
export const rgPath = (ns: string, rest: string) =>
  new RegExp(`^/subscriptions/${SEG}/resourceGroups/${SEG}/providers/${ns.replace('.', '\\.')}/${rest}$`, 'i');

/** The 404s ARM gives before a provider sees the call: unknown subscription, missing resource group. */
export function scopeError(ctx: Ctx, sub: string, rg?: string): Reply | undefined {
  if (sub.toLowerCase() !== ctx.world.subscriptionId) {
    return armError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
  }
  if (rg !== undefined && !ctx.world.resourceGroups.has(rgKey(sub, rg))) {
    return armError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
  }
  return undefined;
}

export const clone = <T>(v: T): T => structuredClone(v);
