/**
 * Microsoft.Compute/virtualMachineScaleSets in a node resource group: list, GET, and PATCH of `identity` as a
 * long-running operation, with the ARM authorization checks such a PATCH runs into.
 *
 * `identity.userAssignedIdentities` in a PATCH merges into what the scale set has ("Configure managed identities
 * for Azure resources on a virtual machine scale set", REST pivot, api-version 2018-06-01 and later): an identity
 * left out stays attached, one sent as `null` is detached, `{}` attaches one. `type` decides the rest, as that page
 * shows: `SystemAssigned` or `None` detach every user-assigned identity (`None` the system one too). A type that
 * includes `UserAssigned` must leave at least one attached: clients that detach the last one switch the type to
 * `None` or `SystemAssigned` instead (Azure CLI `vm identity remove`, `_remove_identities`; aad-pod-identity's
 * VMSS `SetUserIdentities`), and the fake refuses the other form.
 *
 * Azure's limits on user-assigned identities (contract/coordination.ts): a PATCH naming more than 150 (attached or
 * detached) is refused with the 400 users quote (Azure/bicep#16559, Azure/aad-pod-identity#813), and one that would
 * leave more than 512 on the scale set ("Azure subscription and service limits", managed identities) with a 400
 * whose text is modelled on that one: no public report of Azure's own wording for it was found.
 */
import { randomUUID } from 'node:crypto';
import { armError, json, notFound, type Reply } from './arm-http.js';
import { clone, rgPath, scopeError, type Ctx, type Route } from './context.js';
import { startLocationOperation } from './lro.js';
import { permits } from './routes-authorization.js';
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
      const body = (ctx.req.body ?? {}) as { identity?: Identity; tags?: Record<string, string> };
      // Authorization comes first: ARM decides it before the request reaches Compute.
      const denied = authorize(ctx, vmss, body.identity);
      if (denied) return denied;
      const state = vmss.properties as { provisioningState: string };
      // Only a running operation blocks a PATCH; a scale set left Failed takes one (that is how it is repaired).
      if (IN_PROGRESS.test(state.provisioningState)) {
        return armError(
          409,
          'OperationNotAllowed',
          `Another operation is in progress on virtual machine scale set '${name}'. Retry after it completes.`,
        );
      }
      let identity: Identity | undefined;
      if (body.identity) {
        const next = mergeIdentity(ctx, vmss, body.identity);
        if ('status' in next) return next;
        identity = next.identity;
      }
      state.provisioningState = 'Updating';
      // VirtualMachineScaleSets_Update (compute/…/ComputeRP/stable/2025-04-01): 200 with `Location` and
      // `Retry-After`, `"final-state-via": "location"`; Compute also sends Azure-AsyncOperation, which clients poll.
      const { headers } = startLocationOperation(
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
          // A new etag on every write (VirtualMachineScaleSet.etag: "returned in Create/Update/Get response").
          vmss.etag = `"${randomUUID()}"`;
          state.provisioningState = 'Succeeded';
          put(ctx.world, vmss as Resource);
        },
        () => get(ctx.world, vmss.id),
        { alsoAsyncOperation: true },
      );
      return json(200, vmss, headers);
    },
  },
];

const IN_PROGRESS = /^(Creating|Updating|Deleting)$/i;
/** User-assigned identities one request may name, and one scale set may hold (see the header). */
const PER_REQUEST = 150;
const PER_RESOURCE = 512;
const ASSIGN = 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action';
const WRITE = 'Microsoft.Compute/virtualMachineScaleSets/write';

/**
 * ARM's checks before Compute sees the PATCH: the caller needs `virtualMachineScaleSets/write` on the scale set
 * (else 403 AuthorizationFailed) and `userAssignedIdentities/assign/action` on every identity the request attaches
 * (else 403 LinkedAuthorizationFailed; "Configure managed identities … on a virtual machine scale set": "Managed
 * Identity Operator" to assign one). The messages are the ones ARM writes (as quoted in Azure/aad-pod-identity
 * issues #443 and #613).
 */
function authorize(ctx: Ctx, vmss: Resource, identity: Identity | undefined): Reply | undefined {
  const caller = ctx.req.caller;
  if (!caller) return undefined;
  if (!permits(ctx.world, caller.oid, WRITE, vmss.id)) {
    return armError(
      403,
      'AuthorizationFailed',
      `The client '${caller.appid}' with object id '${caller.oid}' does not have authorization to perform action '${WRITE}' over scope '${vmss.id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
  }
  const linked = Object.entries(identity?.userAssignedIdentities ?? {})
    .filter(([, v]) => v !== null)
    .map(([id]) => id)
    .filter((id) => !permits(ctx.world, caller.oid, ASSIGN, id));
  if (linked.length === 0) return undefined;
  return armError(
    403,
    'LinkedAuthorizationFailed',
    `The client '${caller.appid}' with object id '${caller.oid}' has permission to perform action '${WRITE}' on scope '${vmss.id}'; however, it does not have permission to perform action '${ASSIGN}' on the linked scope(s) '${linked.join(',')}' or the linked scope(s) are invalid.`,
  );
}

/** The identity block after a PATCH (see the header for the rules), or the 400 Compute answers. */
function mergeIdentity(ctx: Ctx, vmss: Resource, sent: Identity): { identity: Identity | undefined } | Reply {
  const type = sent.type ?? '';
  if (!/^(None|SystemAssigned|UserAssigned|SystemAssigned, ?UserAssigned)$/i.test(type)) {
    return armError(400, 'InvalidParameter', `The value '${type}' of parameter 'identity.type' is not valid.`);
  }
  const entries = Object.entries(sent.userAssignedIdentities ?? {});
  if (entries.length > PER_REQUEST) {
    return armError(
      400,
      'BadRequest',
      `User Assigned Identities Number '${entries.length}' Assign exceed limit '${PER_REQUEST}' in one request.`,
    );
  }
  const attach = entries.filter(([, v]) => v !== null).map(([id]) => id);
  const detach = new Set(entries.filter(([, v]) => v === null).map(([id]) => key(id)));
  const user = /UserAssigned/i.test(type);
  if (!user && attach.length > 0) {
    return armError(
      400,
      'InvalidParameter',
      'identity.userAssignedIdentities may only be set when identity.type includes UserAssigned.',
    );
  }
  const old = (vmss.identity ?? {}) as Identity;
  const map: Record<string, unknown> = {};
  if (user) {
    // Kept: what the scale set has (its own key spelling), less what the PATCH detaches.
    if (/UserAssigned/i.test(old.type ?? '')) {
      for (const [id, v] of Object.entries(old.userAssignedIdentities ?? {})) if (!detach.has(key(id))) map[id] = v;
    }
    for (const id of attach) {
      const mi = get(ctx.world, id);
      if (!mi || mi.type !== 'Microsoft.ManagedIdentity/userAssignedIdentities') {
        return armError(
          400,
          'FailedIdentityOperation',
          `Identity operation for resource '${vmss.id}' failed with error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: {"error":{"code":"ResourceNotFound","message":"Resource '${id}' was not found."}}'.`,
        );
      }
      if (Object.keys(map).some((k) => key(k) === key(mi.id))) continue;
      const p = mi.properties as { principalId: string; clientId: string };
      map[mi.id] = { principalId: p.principalId, clientId: p.clientId };
    }
    const total = Object.keys(map).length;
    if (total > PER_RESOURCE) {
      return armError(
        400,
        'BadRequest',
        `User Assigned Identities Number '${total}' exceed limit '${PER_RESOURCE}' on resource '${vmss.id}'.`,
      );
    }
    if (total === 0) {
      return armError(
        400,
        'InvalidParameter',
        "Parameter 'identity.userAssignedIdentities' must be set when identity.type includes UserAssigned.",
      );
    }
  }
  if (/^None$/i.test(type)) return { identity: undefined };
  const identity: Identity = { type: type.replace(/,\s*/, ', ') };
  if (/SystemAssigned/i.test(type)) {
    identity.principalId = old.principalId ?? randomUUID();
    identity.tenantId = ctx.world.tenantId;
    ctx.world.principals.add(identity.principalId);
  }
  if (user) identity.userAssignedIdentities = map;
  return { identity };
}
