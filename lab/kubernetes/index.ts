/**
 * The lab's Kubernetes: a real kube-apiserver (built from its Go module by build.sh) over a real etcd, on loopback,
 * with RBAC authorization, an admin client certificate written into `.lab/kubernetes/kubeconfig`, and the
 * GMSACredentialSpec CRD installed, as on an AKS cluster with gMSA enabled. No kubelet, scheduler or controllers:
 * the product only stores objects and asks for authorization decisions, which the API server alone answers.
 *
 * A second API server over the same etcd, under another key prefix and without the CRD, stands for a cluster where
 * gMSA is not enabled (kubernetesWithoutGmsaLab), so that case is tested without touching the shared cluster.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { LabPart } from '../part.js';
import { labPath, PROJECT_ROOT } from '../paths.js';
import { freePort, portOpen, runningPid, startDaemon, stopDaemon, waitUntil } from '../process.js';
import { installCrd } from './crd.js';
import { ensurePki, type LabPki } from './pki.js';

const HOST = '127.0.0.1';
const log = (line: string) => process.stderr.write(`[kubernetes-lab] ${line}\n`);

const dir = () => labPath('kubernetes');
const files = () => ({
  state: path.join(dir(), 'state.json'),
  etcdData: path.join(dir(), 'etcd'),
  etcdPid: path.join(dir(), 'etcd.pid'),
  etcdLog: path.join(dir(), 'etcd.log'),
  pki: path.join(dir(), 'pki'),
});

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  apiserverWithoutGmsa: number;
}

/** One API server of the lab: where it listens, which etcd prefix it stores under, and its files. */
interface ApiServerInstance {
  name: string;
  port: (p: Ports) => number;
  etcdPrefix: string;
  pidFile: string;
  logFile: string;
  kubeconfig: string;
}

const MAIN: ApiServerInstance = {
  name: 'kube-apiserver',
  port: (p) => p.apiserver,
  etcdPrefix: '/registry',
  pidFile: labPath('kubernetes', 'apiserver.pid'),
  logFile: labPath('kubernetes', 'apiserver.log'),
  kubeconfig: labPath('kubernetes', 'kubeconfig'),
};

const WITHOUT_GMSA: ApiServerInstance = {
  name: 'kube-apiserver (without gMSA)',
  port: (p) => p.apiserverWithoutGmsa,
  etcdPrefix: '/gmsa-lab-without-gmsa', // shares no key prefix with /registry
  pidFile: labPath('kubernetes', 'apiserver-without-gmsa.pid'),
  logFile: labPath('kubernetes', 'apiserver-without-gmsa.log'),
  kubeconfig: labPath('kubernetes', 'kubeconfig-without-gmsa'),
};

/** Runs build.sh (instant once built) and returns the directory holding kube-apiserver and etcd. */
export function buildKubernetes(): Promise<string> {
  const script = path.join(PROJECT_ROOT, 'lab', 'kubernetes', 'build.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const bin = out.trim().split('\n').pop() ?? '';
      if (code === 0 && existsSync(path.join(bin, 'kube-apiserver'))) resolve(bin);
      else reject(new Error(`kubernetes lab: ${script} failed (exit ${code}); its output is above`));
    });
  });
}

/** The ports in use, kept across restarts so etcd's recorded peer URL stays valid; new ones when taken. */
async function ensurePorts(): Promise<Ports> {
  const f = files();
  let saved: Partial<Ports> = {};
  try {
    saved = JSON.parse(readFileSync(f.state, 'utf8')) as Partial<Ports>;
  } catch {
    /* first start */
  }
  const etcdUp = runningPid(f.etcdPid) !== undefined;
  const pick = async (port: number | undefined, ownerPid: string | undefined): Promise<number> => {
    if (port && ownerPid && runningPid(ownerPid) !== undefined) return port;
    if (port && !(await portOpen(port, HOST))) return port;
    return freePort();
  };
  const ports: Ports = {
    etcdClient: etcdUp && saved.etcdClient ? saved.etcdClient : await pick(saved.etcdClient, undefined),
    etcdPeer: etcdUp && saved.etcdPeer ? saved.etcdPeer : await pick(saved.etcdPeer, undefined),
    apiserver: await pick(saved.apiserver, MAIN.pidFile),
    apiserverWithoutGmsa: await pick(saved.apiserverWithoutGmsa, WITHOUT_GMSA.pidFile),
  };
  // A single-member etcd remembers its peer URL; when that port had to change, the lab's data starts over.
  if (!etcdUp && saved.etcdPeer !== undefined && saved.etcdPeer !== ports.etcdPeer) {
    log(`etcd peer port ${saved.etcdPeer} is taken; starting with empty etcd data`);
    rmSync(f.etcdData, { recursive: true, force: true });
  }
  mkdirSync(dir(), { recursive: true });
  writeFileSync(f.state, `${JSON.stringify(ports, null, 2)}\n`);
  return ports;
}

async function ensureEtcd(bin: string, ports: Ports): Promise<void> {
  const f = files();
  const health = async () => {
    const res = await fetch(`http://${HOST}:${ports.etcdClient}/health`, { signal: AbortSignal.timeout(2000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  };
  if (runningPid(f.etcdPid) !== undefined) {
    await waitUntil('etcd', health, { timeoutMs: 30_000, logFile: f.etcdLog });
    return;
  }
  const peer = `http://${HOST}:${ports.etcdPeer}`;
  const client = `http://${HOST}:${ports.etcdClient}`;
  const started = Date.now();
  startDaemon({
    name: 'etcd',
    command: path.join(bin, 'etcd'),
    args: [
      '--name=lab',
      `--data-dir=${f.etcdData}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=lab=${peer}`,
      '--listen-metrics-urls=',
      // A lab: losing the last writes on a crash is fine; waiting for fsync on a shared disk is not.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    pidFile: f.etcdPid,
    logFile: f.etcdLog,
  });
  await waitUntil('etcd', health, { timeoutMs: 60_000, logFile: f.etcdLog });
  log(`etcd ready on ${client} in ${Date.now() - started} ms`);
}

function httpsGet(pki: LabPki, port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: HOST,
        port,
        path: urlPath,
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.adminCert),
        key: readFileSync(pki.adminKey),
        timeout: 3000,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
  });
}

function writeKubeconfig(instance: ApiServerInstance, pki: LabPki, port: number): void {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  const name = instance === MAIN ? 'gmsa-lab' : 'gmsa-lab-without-gmsa';
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: https://${HOST}:${port}`,
    `    certificate-authority-data: ${b64(pki.caCert)}`,
    'users:',
    '- name: gmsa-lab-admin',
    '  user:',
    `    client-certificate-data: ${b64(pki.adminCert)}`,
    `    client-key-data: ${b64(pki.adminKey)}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    '    user: gmsa-lab-admin',
    `current-context: ${name}`,
    '',
  ].join('\n');
  writeFileSync(instance.kubeconfig, kubeconfig, { mode: 0o600 });
}

async function ensureApiServer(instance: ApiServerInstance, bin: string, ports: Ports, pki: LabPki): Promise<void> {
  const port = instance.port(ports);
  const ready = async () => {
    const readyz = await httpsGet(pki, port, '/readyz');
    if (readyz.status !== 200) return false;
    // The bootstrap controller creates `default` shortly after; the RBAC tests bind in it.
    return (await httpsGet(pki, port, '/api/v1/namespaces/default')).status === 200;
  };
  if (runningPid(instance.pidFile) !== undefined) {
    await waitUntil(instance.name, ready, { timeoutMs: 60_000, logFile: instance.logFile });
    writeKubeconfig(instance, pki, port);
    return;
  }
  const started = Date.now();
  startDaemon({
    name: instance.name,
    command: path.join(bin, 'kube-apiserver'),
    args: [
      `--etcd-servers=http://${HOST}:${ports.etcdClient}`,
      `--etcd-prefix=${instance.etcdPrefix}`,
      `--bind-address=${HOST}`,
      `--advertise-address=${HOST}`,
      `--secure-port=${port}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=https://${HOST}:${port}`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // No controller-manager issues service-account tokens here (as in controller-runtime's envtest).
      '--disable-admission-plugins=ServiceAccount',
      '--profiling=false',
    ],
    pidFile: instance.pidFile,
    logFile: instance.logFile,
  });
  await waitUntil(instance.name, ready, { timeoutMs: 180_000, intervalMs: 250, logFile: instance.logFile });
  writeKubeconfig(instance, pki, port);
  log(`${instance.name} ready on https://${HOST}:${port} in ${Date.now() - started} ms`);
}

async function startParts(instance: ApiServerInstance): Promise<void> {
  const bin = await buildKubernetes();
  const pki = ensurePki(files().pki);
  const ports = await ensurePorts();
  await ensureEtcd(bin, ports);
  await ensureApiServer(instance, bin, ports, pki);
}

export const kubernetesLab: LabPart = {
  name: 'kubernetes',
  // The kubeconfig needs only the port and the certificates, not the binaries: written before a first build (minutes),
  // so the worker and the Azure fake start on it at once and the Kubernetes steps retry until the API server answers.
  async prepare() {
    const pki = ensurePki(files().pki);
    const ports = await ensurePorts();
    if (runningPid(MAIN.pidFile) === undefined) writeKubeconfig(MAIN, pki, MAIN.port(ports));
    return { KUBECONFIG: MAIN.kubeconfig };
  },
  async start() {
    const started = Date.now();
    await startParts(MAIN);
    const kc = new KubeConfig();
    kc.loadFromFile(MAIN.kubeconfig);
    await installCrd(kc);
    log(`cluster with the GMSACredentialSpec CRD ready in ${Date.now() - started} ms; KUBECONFIG=${MAIN.kubeconfig}`);
    return { KUBECONFIG: MAIN.kubeconfig };
  },
  async stop() {
    await stopDaemon(WITHOUT_GMSA.pidFile);
    await stopDaemon(MAIN.pidFile);
    await stopDaemon(files().etcdPid);
  },
  running: () => runningPid(MAIN.pidFile) !== undefined && runningPid(files().etcdPid) !== undefined,
};

/** Stops the main API server alone (etcd and its data stay): `kubernetesLab.start()` brings it back. */
export const stopKubeApiServer = (): Promise<boolean> => stopDaemon(MAIN.pidFile);

/** A cluster on which gMSA is not enabled: a real API server, without the GMSACredentialSpec CRD. */
export const kubernetesWithoutGmsaLab: LabPart = {
  name: 'kubernetes-without-gmsa',
  async start() {
    await startParts(WITHOUT_GMSA);
    return { KUBECONFIG_WITHOUT_GMSA: WITHOUT_GMSA.kubeconfig };
  },
  async stop() {
    await stopDaemon(WITHOUT_GMSA.pidFile);
  },
  running: () => runningPid(WITHOUT_GMSA.pidFile) !== undefined,
};
