/**
 * Microsoft.ManagedIdentity/userAssignedIdentities: PUT (synchronous, as in ARM), PATCH (UserAssignedIdentities_Update:
 * the tags given replace the resource's tags; nothing else of it changes), GET, DELETE.
 */
import { armError, json, notFound } from './arm-http.js';
import { rgPath, scopeError, type Route } from './context.js';
import { get, key, newIdentity, put, rgId } from './world.js';

const NS = 'Microsoft.ManagedIdentity';
const TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities';
const PATH = rgPath(NS, 'userAssignedIdentities/([^/]+)');

const idOf = (m: RegExpExecArray) => {
  const [, sub, rg, name] = m as unknown as [string, string, string, string];
  return { sub, rg, name, id: `${rgId(sub, rg)}/providers/${TYPE}/${name}` };
};

export const msiRoutes: Route[] = [
  {
    method: 'GET',
    pattern: PATH,
    op: 'GET userAssignedIdentities',
    provider: NS,
    handle(ctx, m) {
      const { sub, rg, name, id } = idOf(m);
      const mi = get(ctx.world, id);
      return scopeError(ctx, sub, rg) ?? (mi ? json(200, mi) : notFound(TYPE, name, rg));
    },
  },
  {
    method: 'PUT',
    pattern: PATH,
    op: 'PUT userAssignedIdentities',
    provider: NS,
    handle(ctx, m) {
      const { sub, rg, name, id } = idOf(m);
      const err = scopeError(ctx, sub, rg);
      if (err) return err;
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/.test(name)) {
        return armError(400, 'InvalidResourceName', `Resource name '${name}' is invalid.`);
      }
      const body = (ctx.req.body ?? {}) as { location?: string; tags?: Record<string, string> };
      if (!body.location)
        return armError(400, 'LocationRequired', 'The location property is required for this definition.');
      const existing = get(ctx.world, id);
      if (existing) {
        if (body.tags) existing.tags = body.tags;
        return json(200, existing);
      }
      const mi = newIdentity(ctx.world, id, body.location, body.tags ?? {});
      put(ctx.world, mi);
      return json(201, mi);
    },
  },
  {
    method: 'PATCH',
    pattern: PATH,
    op: 'PATCH userAssignedIdentities',
    provider: NS,
    handle(ctx, m) {
      const { sub, rg, name, id } = idOf(m);
      const err = scopeError(ctx, sub, rg);
      if (err) return err;
      const existing = get(ctx.world, id);
      if (!existing) return notFound(TYPE, name, rg);
      const body = (ctx.req.body ?? {}) as { tags?: Record<string, string> };
      if (body.tags) existing.tags = body.tags;
      return json(200, existing);
    },
  },
  {
    method: 'DELETE',
    pattern: PATH,
    op: 'DELETE userAssignedIdentities',
    provider: NS,
    handle(ctx, m) {
      const { sub, rg, id } = idOf(m);
      const err = scopeError(ctx, sub, rg);
      if (err) return err;
      return ctx.world.resources.delete(key(id)) ? json(200) : json(204);
    },
  },
];
