/** Shapes for the OpenAPI document that the validation schemas do not give as they are. */
import type { TSchema } from 'typebox';
import { Type } from 'typebox';

/** Fields with a default are optional to the caller, though required after defaults are applied. */
export function requestDocSchema<T extends TSchema>(schema: T): TSchema {
  const strip = (node: unknown): unknown => {
    if (!node || typeof node !== 'object') return node;
    if (Array.isArray(node)) return node.map(strip);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = strip(v);
    const props = out.properties as Record<string, { default?: unknown }> | undefined;
    if (props && Array.isArray(out.required)) {
      out.required = (out.required as string[]).filter((name) => props[name]?.default === undefined);
    }
    delete out.$id;
    return out;
  };
  return strip(schema) as TSchema;
}

/** The AksGMSA module's flat parameter object, as accepted by POST /v1/provisionings. */
export function powerShellParamsSchema(): TSchema {
  const s = (description: string) => Type.String({ description });
  return Type.Object(
    {
      'subscription-id': Type.Optional(s('defaults to the API configuration (AZURE_SUBSCRIPTION_ID)')),
      'aks-cluster-rg-name': s('cluster resource group'),
      'aks-cluster-name': s('cluster name'),
      'aks-win-node-pools-names': Type.Union([Type.Array(Type.String()), Type.String()]),
      'domain-fqdn': s('domain DNS name'),
      'domain-dns-server': Type.Optional(s('DNS server IP')),
      'domain-controller-address': Type.Optional(s('domain controller')),
      'gmsa-name': s('gMSA name'),
      'gmsa-domain-user-name': s('standard user'),
      'gmsa-spec-name': s('credential spec name'),
      'azure-location': s('Azure region'),
      'akv-name': s('Key Vault name'),
      'akv-secret-name': s('secret name'),
      'ami-name': s('managed identity name'),
    },
    { description: 'AksGMSA PowerShell parameters; password fields are refused' },
  );
}
