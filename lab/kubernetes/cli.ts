/**
 * Manual use of the lab cluster:
 *   build                 build kube-apiserver and etcd (cached; prints the bin dir)
 *   start                 start etcd + kube-apiserver with the CRD; prints the settings as shell assignments
 *   start-without-gmsa    also start the second API server that has no GMSACredentialSpec CRD
 *   crd-install | crd-remove   install or delete the CRD on the main lab cluster
 *   stop                  stop both API servers and etcd (by pid)
 */
import { KubeConfig } from '@kubernetes/client-node';
import { buildKubernetes, kubernetesLab, kubernetesWithoutGmsaLab } from './index.js';
import { installCrd, removeCrd } from './crd.js';
import { labPath } from '../paths.js';

const shellQuote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
const print = (settings: Record<string, string>) => {
  for (const [key, value] of Object.entries(settings)) process.stdout.write(`${key}=${shellQuote(value)}\n`);
};
// The running lab cluster's kubeconfig; start it first.
const mainCluster = async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(labPath('kubernetes', 'kubeconfig'));
  return kc;
};

const command = process.argv[2];
switch (command) {
  case 'build':
    process.stdout.write(`${await buildKubernetes()}\n`);
    break;
  case 'start':
    print(await kubernetesLab.start());
    break;
  case 'start-without-gmsa':
    print(await kubernetesWithoutGmsaLab.start());
    break;
  case 'crd-install':
    await installCrd(await mainCluster());
    break;
  case 'crd-remove':
    await removeCrd(await mainCluster());
    break;
  case 'stop':
    await kubernetesLab.stop();
    break;
  default:
    process.stderr.write(
      'usage: tsx lab/kubernetes/cli.ts build|start|start-without-gmsa|crd-install|crd-remove|stop\n',
    );
    process.exitCode = 2;
}
