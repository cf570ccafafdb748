/**
 * ARM's long-running-operation protocol as the SDK's poller reads it: the write answers at once with a
 * non-terminal provisioningState and an `Azure-AsyncOperation` URL; that URL reports InProgress until the
 * operation's time is up, then Succeeded (or Failed with an error), and only then is the change visible.
 */
import { randomUUID } from 'node:crypto';
import { json, type Reply, type Request } from './arm-http.js';
import type { Knobs } from './knobs.js';
import { pick } from './knobs.js';
import type { Operation, World } from './world.js';

export function startOperation(
  world: World,
  knobs: Knobs,
  req: Request,
  op: string,
  provider: string,
  location: string,
  finish: () => void,
): { headers: Record<string, string>; operation: Operation } {
  const id = randomUUID();
  const operation: Operation = {
    id,
    status: 'InProgress',
    startTime: new Date().toISOString(),
    doneAt: Date.now() + pick(knobs.lroMs, op, req.path),
    finish,
  };
  world.operations.set(id, operation);
  const apiVersion = req.query.get('api-version') ?? '';
  const url = `${req.origin}/subscriptions/${world.subscriptionId}/providers/${provider}/locations/${location}/operations/${id}?api-version=${apiVersion}`;
  return {
    operation,
    headers: { 'Azure-AsyncOperation': url, 'Retry-After': String(knobs.lroRetryAfterSec) },
  };
}

/** Settles every operation whose time has come (called before each request, so GETs see a consistent world). */
export function settleOperations(world: World) {
  const now = Date.now();
  for (const operation of world.operations.values()) {
    if (operation.status === 'InProgress' && operation.doneAt <= now) {
      try {
        operation.finish?.();
        operation.status = 'Succeeded';
      } catch (e) {
        operation.status = 'Failed';
        operation.error = { code: 'InternalOperationError', message: (e as Error).message };
      }
    }
  }
}

export function operationRoute(world: World, knobs: Knobs, req: Request): Reply | undefined {
  const m = /^\/subscriptions\/[^/]+\/providers\/[^/]+\/locations\/[^/]+\/operations\/([^/]+)$/i.exec(req.path);
  if (!m || req.method !== 'GET') return undefined;
  const operation = world.operations.get(m[1] as string);
  if (!operation) return json(404, { error: { code: 'NotFound', message: 'Operation not found.' } });
  const body: Record<string, unknown> = {
    name: operation.id,
    status: operation.status,
    startTime: operation.startTime,
  };
  if (operation.status !== 'InProgress') body.endTime = new Date(operation.doneAt).toISOString();
  if (operation.error) body.error = operation.error;
  return json(200, body, operation.status === 'InProgress' ? { 'Retry-After': String(knobs.lroRetryAfterSec) } : {});
}
