/**
 * ARM's long-running-operation protocol as the SDK's poller reads it: the write answers at once with a
 * non-terminal provisioningState and an `Azure-AsyncOperation` URL; that URL reports InProgress until the
 * operation's time is up, then Succeeded (or Failed with an error), and only then is the change visible.
 */
import { randomUUID } from 'node:crypto';
import { json, type Reply, type Request } from './arm-http.js';
import type { Knobs, Override } from './knobs.js';
import { holdFor, lroDurationFor } from './knobs.js';
import { get, put, type Operation, type Resource, type World } from './world.js';

/** What the test controls attach to an operation: the hold it waits for, the failure it is to end with. */
interface Control {
  hold?: Override;
  fail?: { code: string; message: string; restore: () => void };
}
const controls = new WeakMap<Operation, Control>();
const startedBy = new WeakMap<Request, Operation[]>();

/** The operations the handling of `req` started (so a fault can be attached to exactly those). */
export const operationsStartedBy = (req: Request): Operation[] => startedBy.get(req) ?? [];

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
    doneAt: Date.now() + lroDurationFor(knobs, op, req.path),
    op,
    path: req.path,
    finish,
  };
  world.operations.set(id, operation);
  const hold = holdFor(knobs, op, req.path);
  if (hold) controls.set(operation, { hold });
  startedBy.set(req, [...operationsStartedBy(req), operation]);
  const apiVersion = req.query.get('api-version') ?? '';
  const url = `${req.origin}/subscriptions/${world.subscriptionId}/providers/${provider}/locations/${location}/operations/${id}?api-version=${apiVersion}`;
  return {
    operation,
    headers: { 'Azure-AsyncOperation': url, 'Retry-After': String(knobs.lroRetryAfterSec) },
  };
}

/**
 * Makes `operation` end Failed with `error` instead of applying its change: the resource at `resourceId` goes back
 * to `before` (its state before the write; kept as the write left it when it did not exist) with provisioningState
 * `Failed`. ARM reports a failed operation as `{ status: 'Failed', error: { code, message } }` ("Track
 * asynchronous Azure operations"), and managed clusters and scale sets show `provisioningState: Failed` after a
 * failed update (the REST specs' ProvisioningState enums, and the AKS and VMSS troubleshooting docs).
 */
export function failOperation(
  world: World,
  operation: Operation,
  error: { code: string; message: string },
  resourceId: string,
  before: Resource | undefined,
) {
  const restore = () => {
    const resource = before ? structuredClone(before) : get(world, resourceId);
    if (!resource) return;
    const props = resource.properties as { provisioningState?: string } | undefined;
    if (props && 'provisioningState' in props) props.provisioningState = 'Failed';
    put(world, resource);
  };
  controls.set(operation, { ...controls.get(operation), fail: { ...error, restore } });
}

/** Ends the holds of `override`: its held operations finish on the next poll. */
export function releaseHeld(world: World, override: Override) {
  override.released = true;
  const now = Date.now();
  for (const operation of world.operations.values()) {
    if (controls.get(operation)?.hold === override && operation.status === 'InProgress') {
      operation.doneAt = Math.min(operation.doneAt, now);
    }
  }
}

/** Settles every operation whose time has come (called before each request, so GETs see a consistent world). */
export function settleOperations(world: World) {
  const now = Date.now();
  for (const operation of world.operations.values()) {
    if (operation.status === 'InProgress' && operation.doneAt <= now) {
      const control = controls.get(operation);
      if (control?.hold && !control.hold.released) continue;
      if (control?.fail) {
        const { code, message, restore } = control.fail;
        restore();
        operation.status = 'Failed';
        operation.error = { code, message };
        continue;
      }
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

/**
 * Ends every running operation now, held or not: the fake is stopping and keeps its world (world-file.ts), where an
 * operation's closure cannot be kept, so its change is applied before the last write.
 */
export function finishRunningOperations(world: World) {
  const now = Date.now();
  for (const operation of world.operations.values()) {
    if (operation.status !== 'InProgress') continue;
    operation.doneAt = Math.min(operation.doneAt, now);
    const control = controls.get(operation);
    if (control?.hold) control.hold = undefined;
  }
  settleOperations(world);
}

/**
 * The other header style of ARM's protocol, for operations whose spec says `"final-state-via": "location"` (Key
 * Vault's Vaults_CreateOrUpdate in keyvault/…/stable/2025-05-01 and 2026-02-01 openapi.json: `201` with `Location`
 * and `Retry-After`): the write answers with a `Location` URL; a GET there answers 202 (with `Location` and
 * `Retry-After` again) while the operation runs, then 200 with the final resource, or the operation's error with
 * a 4xx ("Track asynchronous Azure operations": the Location URL answers 202 until the operation is done, then the
 * result). Holds and injected failures apply to it as to `startOperation`'s, since it is one.
 */
export function startLocationOperation(
  world: World,
  knobs: Knobs,
  req: Request,
  op: string,
  provider: string,
  location: string,
  finish: () => void,
  result: () => unknown,
  { alsoAsyncOperation = false }: { alsoAsyncOperation?: boolean } = {},
): { headers: Record<string, string>; operation: Operation } {
  const started = startOperation(world, knobs, req, op, provider, location, finish);
  const { operation } = started;
  operation.result = result;
  const apiVersion = req.query.get('api-version') ?? '';
  const url = `${req.origin}/subscriptions/${world.subscriptionId}/providers/${provider}/locations/${location}/operationResults/${operation.id}?api-version=${apiVersion}`;
  // Both headers (a scale-set PATCH): clients poll Azure-AsyncOperation for the status, then read the final
  // resource from Location, as `"final-state-via": "location"` says.
  const headers = alsoAsyncOperation ? { ...started.headers, Location: url } : { Location: url };
  return { operation, headers: { ...headers, 'Retry-After': String(knobs.lroRetryAfterSec) } };
}

/** The `Location` URL of a `startLocationOperation` operation. */
function locationRoute(world: World, knobs: Knobs, req: Request): Reply | undefined {
  const m = /^\/subscriptions\/[^/]+\/providers\/[^/]+\/locations\/[^/]+\/operationResults\/([^/]+)$/i.exec(req.path);
  if (!m || req.method !== 'GET') return undefined;
  const operation = world.operations.get(m[1] as string);
  if (!operation?.result) return json(404, { error: { code: 'NotFound', message: 'Operation not found.' } });
  if (operation.status === 'InProgress') {
    const self = `${req.origin}${req.path}?${req.query.toString()}`;
    return json(202, undefined, { Location: self, 'Retry-After': String(knobs.lroRetryAfterSec) });
  }
  if (operation.status === 'Failed') return json(400, { error: operation.error });
  return json(200, operation.result());
}

export function operationRoute(world: World, knobs: Knobs, req: Request): Reply | undefined {
  const viaLocation = locationRoute(world, knobs, req);
  if (viaLocation) return viaLocation;
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
