/** Valid requests for tests: the DESIGN example, with a unique spec name when a test needs its own workflow id. */
import type { ProvisionRequest } from '../../domain/request.js';
import { exampleRequest } from '../../lab/example-request.js';

export { exampleRequest };

/** The AksGMSA module's flat parameter object for the same provisioning, as a params file holds it. */
export function examplePowerShellParams(o: { cluster: string; spec: string }): Record<string, unknown> {
  return {
    'aks-cluster-rg-name': 'rg-aks',
    'aks-cluster-name': o.cluster,
    'aks-win-node-pools-names': 'win1',
    'domain-fqdn': 'contoso.com',
    'domain-dns-server': '10.0.0.4',
    'gmsa-name': 'webapp01',
    'gmsa-domain-user-name': 'gmsa-webapp01',
    'gmsa-spec-name': o.spec,
    'azure-location': 'westeurope',
    'akv-name': 'kv-gmsa-01',
    'akv-secret-name': 'gmsa-webapp01',
    'ami-name': 'mi-gmsa-01',
  };
}

let n = 0;
/** A spec name no other test uses, so each test gets its own workflow id. */
export const uniqueSpec = (prefix = 'spec') => `${prefix}-${process.pid}-${n++}`;

let m = 0;
/**
 * The example request with every name its own (spec, gMSA, standard user, vault, secret, identity), within each
 * name's limits: a test that checks an output against its request then proves that request's value got there.
 */
export function uniqueRequest(
  prefix = 'u',
  overrides: Omit<Parameters<typeof exampleRequest>[0], 'spec'> = {},
): ProvisionRequest {
  const tag = `${prefix}${process.pid.toString(36)}${(m++).toString(36)}`.toLowerCase().slice(-11);
  const r = exampleRequest({ ...overrides, spec: `spec-${tag}` });
  r.gmsa = { name: `g${tag}`, standardUser: `u-${tag}`, credentialSpecName: `spec-${tag}` };
  r.azure.keyVault = { name: `kv-${tag}`, secretName: `s-${tag}` };
  r.azure.managedIdentity = { name: `mi-${tag}` };
  return r;
}
