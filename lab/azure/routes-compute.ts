/**
 * Microsoft.Compute/virtualMachineScaleSets in a node resource group: list, GET, and PATCH of `identity` as a
 * long-running operation. The identity map in a PATCH replaces the one stored (null entries are dropped), so a
 * caller that forgets the identities already there removes them, as it would in Azure.
 */
import { randomUUID } from 'node:crypto';
import { armError, json, notFound } from './arm-http.js';
import { clone, rgPath, scopeError, type Route } from './context.js';
import { startOperation } from './lro.js';
import { get, key, put, rgId, type Resource } from './world.js';

const NS = 'Microsoft.Compute';
const TYPE = 'Microsoft.Compute/virtualMachineScaleSets';

interface Identity {
  type?: string;
  principalId?: string;
  tenantId?: string;
  userAssignedIdentities?: Record<string, unknown>;
}

export const computeRoutes: Route[] = [
  {
    method: 'GET',
    pattern: rgPath(NS, 'virtualMachineScaleSets'),
    op: 'GET virtualMachineScaleSets',
    provider: NS,
    handle(ctx, m) {
      const [, sub, rg] = m as unknown as [string, string, string];
      const err = scopeError(ctx, sub, rg);
      if (err) return err;
      const prefix = key(`${rgId(sub, rg)}/providers/${TYPE}/`);
      const value = [...ctx.world.resources.entries()].filter(([k]) => k.startsWith(prefix)).map(([, r]) => r);
      return json(200, { value });
    },
  },
  {
    method: 'GET',
    pattern: rgPath(NS, 'virtualMachineScaleSets/([^/]+)'),
    op: 'GET virtualMachineScaleSets/{name}',
    provider: NS,
    handle(ctx, m) {
      const [, sub, rg, name] = m as unknown as [string, string, string, string];
      const vmss = get(ctx.world, `${rgId(sub, rg)}/providers/${TYPE}/${name}`);
      return scopeError(ctx, sub, rg) ?? (vmss ? json(200, vmss) : notFound(TYPE, name, rg));
    },
  },
  {
    method: 'PATCH',
    pattern: rgPath(NS, 'virtualMachineScaleSets/([^/]+)'),
    op: 'PATCH virtualMachineScaleSets',
    provider: NS,
    handle(ctx, m) {
      const [, sub, rg, name] = m as unknown as [string, string, string, string];
      const err = scopeError(ctx, sub, rg);
      if (err) return err;
      const vmss = get(ctx.world, `${rgId(sub, rg)}/providers/${TYPE}/${name}`);
      if (!vmss) return notFound(TYPE, name, rg);
      const state = vmss.properties as { provisioningState: string };
      if (state.provisioningState !== 'Succeeded') {
        return armError(
          409,
          'OperationNotAllowed',
          `Another operation is in progress on virtual machine scale set '${name}'. Retry after it completes.`,
        );
      }
      const body = (ctx.req.body ?? {}) as { identity?: Identity; tags?: Record<string, string> };
      let identity: Identity | undefined;
      if (body.identity) {
        const type = body.identity.type ?? '';
        const wanted = Object.entries(body.identity.userAssignedIdentities ?? {}).filter(([, v]) => v !== null);
        if (!/^(None|SystemAssigned|UserAssigned|SystemAssigned, ?UserAssigned)$/i.test(type)) {
          return armError(400, 'InvalidParameter', `The value '${type}' of parameter 'identity.type' is not valid.`);
        }
        if (/UserAssigned/i.test(type) && wanted.length === 0) {
          return armError(
            400,
            'InvalidParameter',
            "Parameter 'identity.userAssignedIdentities' must be set when identity.type includes UserAssigned.",
          );
        }
        if (!/UserAssigned/i.test(type) && wanted.length > 0) {
          return armError(
            400,
            'InvalidParameter',
            'identity.userAssignedIdentities may only be set when identity.type includes UserAssigned.',
          );
        }
        const map: Record<string, unknown> = {};
        for (const [id] of wanted) {
          const mi = get(ctx.world, id);
          if (!mi || mi.type !== 'Microsoft.ManagedIdentity/userAssignedIdentities') {
            return armError(
              400,
              'FailedIdentityOperation',
              `Identity operation for resource '${vmss.id}' failed with error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: {"error":{"code":"ResourceNotFound","message":"Resource '${id}' was not found."}}'.`,
            );
          }
          const p = mi.properties as { principalId: string; clientId: string };
          map[mi.id] = { principalId: p.principalId, clientId: p.clientId };
        }
        const old = (vmss.identity ?? {}) as Identity;
        identity = /^None$/i.test(type) ? undefined : { type: type.replace(/,\s*/, ', ') };
        if (identity && /SystemAssigned/i.test(type)) {
          identity.principalId = old.principalId ?? randomUUID();
          identity.tenantId = ctx.world.tenantId;
          ctx.world.principals.add(identity.principalId);
        }
        if (identity && wanted.length) identity.userAssignedIdentities = map;
      }
      state.provisioningState = 'Updating';
      const { headers } = startOperation(
        ctx.world,
        ctx.knobs,
        ctx.req,
        'PATCH virtualMachineScaleSets',
        NS,
        String(vmss.location),
        () => {
          if (body.identity) {
            if (identity) vmss.identity = identity;
            else delete vmss.identity;
          }
          if (body.tags) vmss.tags = clone(body.tags);
          state.provisioningState = 'Succeeded';
          put(ctx.world, vmss as Resource);
        },
      );
      return json(200, vmss, headers);
    },
  },
];
