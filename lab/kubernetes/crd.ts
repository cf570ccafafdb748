/**
 * The lab's own GMSACredentialSpec CRD, modelled on the one the windows-gmsa chart (and AKS, once gMSA is enabled)
 * installs: cluster-scoped `gmsacredentialspecs.windows.k8s.io`, v1 stored, v1alpha1 still served (deprecated), the
 * document under the top-level `credspec` field with a structural schema. Being structural, the API server prunes
 * or (with strict field validation) rejects any field the schema does not name, and rejects wrong types.
 */
import {
  ApiException,
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';

export const CRD_NAME = 'gmsacredentialspecs.windows.k8s.io';

const str = { type: 'string' } as const;
const credspecSchema = {
  description: 'GMSA Credential Spec',
  type: 'object',
  properties: {
    ActiveDirectoryConfig: {
      type: 'object',
      properties: {
        GroupManagedServiceAccounts: {
          type: 'array',
          items: { type: 'object', properties: { Name: str, Scope: str } },
        },
        HostAccountConfig: {
          type: 'object',
          properties: { PluginGUID: str, PluginInput: str, PortableCcgVersion: str },
        },
      },
    },
    CmsPlugins: { type: 'array', items: str },
    DomainJoinConfig: {
      type: 'object',
      properties: { DnsName: str, DnsTreeName: str, Guid: str, MachineAccountName: str, NetBiosName: str, Sid: str },
    },
  },
};

const version = (name: string, storage: boolean) => ({
  name,
  served: true,
  storage,
  ...(storage ? {} : { deprecated: true }),
  schema: { openAPIV3Schema: { type: 'object', properties: { credspec: credspecSchema } } },
});

export const gmsaCredentialSpecCrd: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: CRD_NAME,
    // windows.k8s.io is a protected group: without this annotation the API server marks the CRD unapproved.
    annotations: {
      'api-approved.kubernetes.io':
        'https://github.com/kubernetes/enhancements/tree/master/keps/sig-windows/689-windows-gmsa',
    },
  },
  spec: {
    group: 'windows.k8s.io',
    names: {
      kind: 'GMSACredentialSpec',
      plural: 'gmsacredentialspecs',
      singular: 'gmsacredentialspec',
      listKind: 'GMSACredentialSpecList',
    },
    scope: 'Cluster',
    versions: [version('v1alpha1', false), version('v1', true)],
    conversion: { strategy: 'None' },
  },
};

const established = (crd: V1CustomResourceDefinition) =>
  crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;

/** Creates or updates the CRD and waits until the API server serves it. */
export async function installCrd(kc: KubeConfig, timeoutMs = 30_000): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  try {
    await api.createCustomResourceDefinition({ body: gmsaCredentialSpecCrd });
  } catch (e) {
    if (!(e instanceof ApiException) || e.code !== 409) throw e;
    const current = await api.readCustomResourceDefinition({ name: CRD_NAME });
    await api.replaceCustomResourceDefinition({
      name: CRD_NAME,
      body: {
        ...gmsaCredentialSpecCrd,
        metadata: { ...gmsaCredentialSpecCrd.metadata, resourceVersion: current.metadata?.resourceVersion },
      },
    });
  }
  const deadline = Date.now() + timeoutMs;
  while (!established(await api.readCustomResourceDefinition({ name: CRD_NAME }))) {
    if (Date.now() > deadline) throw new Error(`${CRD_NAME}: not Established after ${timeoutMs} ms`);
    await delay(100);
  }
}

/** Deletes the CRD (and so every credential spec) and waits until the API server has finished removing it. */
export async function removeCrd(kc: KubeConfig, timeoutMs = 60_000): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const gone = (e: unknown) => e instanceof ApiException && e.code === 404;
  try {
    await api.deleteCustomResourceDefinition({ name: CRD_NAME });
  } catch (e) {
    if (gone(e)) return;
    throw e;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await api.readCustomResourceDefinition({ name: CRD_NAME });
    } catch (e) {
      if (gone(e)) return;
      throw e;
    }
    if (Date.now() > deadline) throw new Error(`${CRD_NAME}: still present after ${timeoutMs} ms`);
    await delay(200);
  }
}
