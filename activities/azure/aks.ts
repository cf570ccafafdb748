/**
 * AKS: confirm (and, when allowed, enable) the cluster's Windows gMSA profile the way `az aks update
 * --enable-windows-gmsa` does (GET, modify windowsProfile.gmsaProfile, PUT the whole cluster), check the named
 * Windows pools, and hand out the cluster's kubeconfig to the Kubernetes activities.
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import type { AzureClients } from './clients.js';
import { azureCall, azureFailure, codeOf, statusOf } from './errors.js';
import { resumableOperation } from './poll.js';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import type { ClusterRef, ConfirmAksGmsaInput, ConfirmAksGmsaResult } from '../../contract/activities.js';

type ClusterCoordinates = Pick<ClusterRef, 'subscriptionId' | 'resourceGroup' | 'name'>;

const label = (c: ClusterCoordinates) => `cluster ${c.resourceGroup}/${c.name}`;

/** The az command that does what this step was not allowed to do. */
function enableCommand(c: ClusterCoordinates, fqdn: string, dnsServer?: string): string {
  const dns = dnsServer ? ` --gmsa-dns-server ${dnsServer} --gmsa-root-domain-name ${fqdn}` : '';
  return `az aks update --subscription ${c.subscriptionId} -g ${c.resourceGroup} -n ${c.name} --enable-windows-gmsa${dns}`;
}

export function createAksActivities(clients: AzureClients) {
  const getCluster = (c: ClusterCoordinates) =>
    azureCall(
      `get ${label(c)}`,
      () => clients.aks(c.subscriptionId).managedClusters.get(c.resourceGroup, c.name),
      'check the subscription, resource group and cluster name, and that the worker identity may read the cluster',
    );

  async function checkWindowsPools(cluster: ClusterRef): Promise<void> {
    const pools = new Map<string, string | undefined>();
    await azureCall(`list node pools of ${label(cluster)}`, async () => {
      for await (const p of clients.aks(cluster.subscriptionId).agentPools.list(cluster.resourceGroup, cluster.name)) {
        pools.set(String(p.name).toLowerCase(), p.osType);
      }
    });
    const problems = cluster.windowsNodePools.flatMap((name) => {
      const os = pools.get(name.toLowerCase());
      if (!pools.has(name.toLowerCase())) return [`node pool '${name}' does not exist`];
      return os === 'Windows' ? [] : [`node pool '${name}' is ${os ?? 'of unknown OS'}, not Windows`];
    });
    if (problems.length) {
      const have = [...pools.entries()].map(([n, os]) => `${n} (${os})`).join(', ');
      throw fatal(ErrorType.PreconditionFailed, `${label(cluster)}: ${problems.join('; ')}. Its pools: ${have}.`);
    }
  }

  async function confirmAksGmsa(input: ConfirmAksGmsaInput): Promise<ConfirmAksGmsaResult> {
    const { cluster, domainFqdn, dnsServer, enable } = input;
    const current = await getCluster(cluster);
    await checkWindowsPools(cluster);
    if (!current.windowsProfile) {
      throw fatal(
        ErrorType.PreconditionFailed,
        `${label(cluster)} has no Windows profile: add a Windows node pool first.`,
      );
    }
    const want = { enabled: true, dnsServer: dnsServer, rootDomainName: dnsServer ? domainFqdn : undefined };
    const have = current.windowsProfile.gmsaProfile;
    const same =
      have?.enabled === true &&
      (have.dnsServer ?? undefined) === want.dnsServer &&
      (have.rootDomainName ?? '').toLowerCase() === (want.rootDomainName ?? '').toLowerCase();
    let enabledByThisRun = false;
    let result = current;
    if (!same) {
      if (!enable) {
        const state = have?.enabled
          ? `gMSA is enabled with dnsServer=${have.dnsServer ?? '(none)'}, rootDomainName=${have.rootDomainName ?? '(none)'}`
          : 'gMSA is not enabled';
        throw fatal(
          ErrorType.PreconditionFailed,
          `${label(cluster)}: ${state} and this provisioning may not change it (options.enableGmsaOnCluster is false). Run: ${enableCommand(cluster, domainFqdn, dnsServer)}`,
        );
      }
      const desired: ManagedCluster = {
        ...current,
        windowsProfile: { ...current.windowsProfile, gmsaProfile: want },
      };
      const what = `enable Windows gMSA on ${label(cluster)}`;
      try {
        // The PUT carries the whole cluster as read: with If-Match on the etag read, a change another team made
        // since is refused (412) instead of overwritten ("Optimistic concurrency" in the AKS docs; eTag and
        // If-Match in the managedClusters spec). A cluster read without an etag is sent as before.
        result = await resumableOperation(what, (resumeFrom) =>
          clients
            .aks(cluster.subscriptionId)
            .managedClusters.beginCreateOrUpdate(cluster.resourceGroup, cluster.name, desired, {
              updateIntervalInMs: clients.pollIntervalMs,
              resumeFrom,
              ...(current.eTag ? { ifMatch: current.eTag } : {}),
            }),
        );
      } catch (e) {
        if (statusOf(e) === 412) {
          // Nothing was written: the next attempt reads the cluster again and builds its PUT on the new state.
          throw transient(
            `${what}: the cluster changed since it was read (412 ${codeOf(e) ?? 'PreconditionFailed'}); reading it again`,
            undefined,
            e instanceof Error ? e : undefined,
          );
        }
        // AKS refuses gMSA on a service-principal cluster; say how to convert it rather than how to retry.
        const needsIdentity = statusOf(e) === 400 && /managed identity/i.test(String((e as Error).message));
        throw azureFailure(
          e,
          what,
          needsIdentity
            ? `convert the cluster first: az aks update -g ${cluster.resourceGroup} -n ${cluster.name} --enable-managed-identity`
            : `or run it yourself: ${enableCommand(cluster, domainFqdn, dnsServer)}`,
        );
      }
      enabledByThisRun = have?.enabled !== true;
    }
    const kubelet = result.identityProfile?.kubeletidentity;
    return {
      clusterId: String(result.id),
      nodeResourceGroup: String(result.nodeResourceGroup),
      enabledByThisRun,
      kubeletIdentity:
        kubelet?.objectId && kubelet.clientId && kubelet.resourceId
          ? { objectId: kubelet.objectId, clientId: kubelet.clientId, resourceId: kubelet.resourceId }
          : undefined,
    };
  }

  return { confirmAksGmsa };
}

/**
 * The cluster's kubeconfig YAML (user or admin credentials), for the Kubernetes activities' own use. Not an
 * activity: it holds credentials, so it must never be registered with the worker or enter workflow history.
 */
export function createKubeconfigSource(clients: AzureClients) {
  async function getKubeconfig(cluster: ClusterCoordinates, access: 'user' | 'admin' = 'user'): Promise<string> {
    const aks = clients.aks(cluster.subscriptionId).managedClusters;
    const result = await azureCall(`get ${access} credentials of ${label(cluster)}`, () =>
      access === 'admin'
        ? aks.listClusterAdminCredentials(cluster.resourceGroup, cluster.name)
        : aks.listClusterUserCredentials(cluster.resourceGroup, cluster.name),
    );
    const value = result.kubeconfigs?.[0]?.value;
    if (!value) throw azureFailure(new Error('no kubeconfig in the answer'), `get credentials of ${label(cluster)}`);
    return Buffer.from(value).toString('utf8');
  }

  return { getKubeconfig };
}
