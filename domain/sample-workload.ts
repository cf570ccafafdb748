/**
 * The sample workload of a binding (Get-GMSASampleApplicationYAML parity): a ConfigMap holding `run.ps1`, which
 * turns on Windows authentication in IIS and serves a page naming the caller; a Deployment running it with the
 * credential spec (`securityContext.windowsOptions.gmsaCredentialSpecName`) in the binding's namespace as its
 * service account, on its Windows pools with the IIS image of their OS SKU; a LoadBalancer Service on port 80.
 * Objects are named `<spec>-demo`, as the module names them. Pure, and the YAML text is emitted here: the shape is
 * fixed, so a small emitter does (every string the emitter cannot leave plain is JSON-quoted, which YAML reads).
 */
import { windowsImagesFor } from './windows-image.js';

export interface SampleWorkloadInput {
  specName: string;
  namespace: string;
  serviceAccount: string;
  /** The binding's Windows pools in request order, with their OS SKU (from the cluster). */
  pools: { name: string; osSku?: string }[];
}

export interface SampleWorkload {
  yaml: string;
  image: string;
  /** The pod template's node selector (several pools: plus a node affinity on `agentpool`). */
  nodeSelector: Record<string, string>;
  /** The pools it may run on: the first pool's and those of the same OS SKU (one image runs on one release). */
  pools: string[];
  objects: Record<string, unknown>[];
}

const RUN_PS1 = `$ErrorActionPreference = 'Stop'
Write-Output 'Configuring IIS for Windows authentication'

# Neither feature is in the IIS image.
Install-WindowsFeature Web-Windows-Auth, Web-Asp-Net45

# A page that says who called it and how they were authenticated.
New-Item -Force -ItemType Directory -Path 'C:\\inetpub\\wwwroot\\app' | Out-Null
Set-Content -Path 'C:\\inetpub\\wwwroot\\app\\default.aspx' -Value 'Authenticated as <B><%=User.Identity.Name%></B>, Type of Authentication: <B><%=User.Identity.AuthenticationType%></B>'

Import-Module IISAdministration
Start-IISCommitDelay
(Get-IISConfigSection -SectionPath 'system.webServer/security/authentication/windowsAuthentication').Attributes['enabled'].Value = $true
(Get-IISConfigSection -SectionPath 'system.webServer/security/authentication/anonymousAuthentication').Attributes['enabled'].Value = $false
(Get-IISServerManager).Sites[0].Applications[0].VirtualDirectories[0].PhysicalPath = 'C:\\inetpub\\wwwroot\\app'
Stop-IISCommitDelay

Write-Output 'IIS is serving with Windows authentication'
C:\\ServiceMonitor.exe w3svc
`;

/** `<spec>-demo`, a DNS-1035 label (a Service's name starts with a letter and has 63 characters at most). */
export function sampleName(specName: string): string {
  const base = /^[a-z]/.test(specName) ? specName : `gmsa-${specName}`;
  return `${base.slice(0, 58).replace(/-+$/, '')}-demo`;
}

/** Throws UnsupportedWindowsSku (domain/windows-image.ts) when the first pool's OS SKU has no image. */
export function buildSampleWorkload(input: SampleWorkloadInput): SampleWorkload {
  const first = input.pools[0];
  if (!first) throw new Error('the binding names no Windows node pool');
  const images = windowsImagesFor(first.osSku, first.name);
  const sku = (first.osSku ?? '').toLowerCase();
  const pools = input.pools.filter((p) => (p.osSku ?? '').toLowerCase() === sku).map((p) => p.name);
  const name = sampleName(input.specName);
  const labels = { app: name };
  const nodeSelector: Record<string, string> = { 'kubernetes.io/os': 'windows' };
  if (pools.length === 1) nodeSelector.agentpool = pools[0]!;
  const objects: Record<string, unknown>[] = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: input.namespace, labels },
      data: { 'run.ps1': RUN_PS1 },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: input.namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: input.serviceAccount,
            securityContext: { windowsOptions: { gmsaCredentialSpecName: input.specName } },
            nodeSelector,
            ...(pools.length > 1
              ? {
                  affinity: {
                    nodeAffinity: {
                      requiredDuringSchedulingIgnoredDuringExecution: {
                        nodeSelectorTerms: [
                          { matchExpressions: [{ key: 'agentpool', operator: 'In', values: pools }] },
                        ],
                      },
                    },
                  },
                }
              : {}),
            tolerations: ['os', 'kubernetes.io/os', 'node.kubernetes.io/os'].map((key) => ({
              key,
              operator: 'Equal',
              value: 'windows',
              effect: 'NoSchedule',
            })),
            containers: [
              {
                name: 'iis',
                image: images.iis,
                imagePullPolicy: 'IfNotPresent',
                command: ['powershell'],
                args: ['-File', '/gmsa-demo/run.ps1'],
                ports: [{ containerPort: 80, protocol: 'TCP' }],
                volumeMounts: [{ name: 'gmsa-demo', mountPath: '/gmsa-demo' }],
              },
            ],
            volumes: [{ name: 'gmsa-demo', configMap: { name, defaultMode: 420 } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: input.namespace, labels },
      spec: { type: 'LoadBalancer', selector: labels, ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] },
    },
  ];
  const skipped = input.pools.filter((p) => !pools.includes(p.name));
  const header = [
    `# Sample workload using credential spec ${input.specName} (Get-GMSASampleApplicationYAML parity).`,
    `# Apply with: kubectl apply -f <this file>. Image ${images.iis} for ${first.osSku} pools ${pools.join(', ')}.`,
    ...(skipped.length
      ? [`# Not scheduled on ${skipped.map((p) => `${p.name} (${p.osSku ?? 'no OS SKU'})`).join(', ')}: another image.`]
      : []),
  ];
  const yaml = `${header.join('\n')}\n${objects.map((o) => toYaml(o)).join('---\n')}`;
  return { yaml, image: images.iis, nodeSelector, pools, objects };
}

// ---- a YAML emitter for plain data (maps, lists, strings, numbers, booleans) ----------------------------------

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_.\-/]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

function scalar(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  const s = String(v);
  return PLAIN.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s);
}

const key = (k: string) => (PLAIN.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k));
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function lines(v: unknown, pad: string): string[] {
  if (Array.isArray(v)) {
    return v.flatMap((item) => {
      if (!isMap(item) && !Array.isArray(item)) return [`${pad}- ${scalar(item)}`];
      if ((isMap(item) && Object.keys(item).length === 0) || (Array.isArray(item) && item.length === 0))
        return [`${pad}- ${Array.isArray(item) ? '[]' : '{}'}`];
      const inner = lines(item, `${pad}  `);
      return [`${pad}- ${inner[0]!.slice(pad.length + 2)}`, ...inner.slice(1)];
    });
  }
  if (!isMap(v)) return [`${pad}${scalar(v)}`];
  return Object.entries(v).flatMap(([k, val]) => {
    if (typeof val === 'string' && val.includes('\n') && !/^\s/.test(val)) {
      // A literal block keeps a script readable; `|` keeps its final newline, `|-` says there is none.
      const body = val.endsWith('\n') ? val.slice(0, -1) : val;
      return [
        `${pad}${key(k)}: ${val.endsWith('\n') ? '|' : '|-'}`,
        ...body.split('\n').map((l) => (l ? `${pad}  ${l}` : '')),
      ];
    }
    if (Array.isArray(val))
      return val.length ? [`${pad}${key(k)}:`, ...lines(val, `${pad}  `)] : [`${pad}${key(k)}: []`];
    if (isMap(val))
      return Object.keys(val).length ? [`${pad}${key(k)}:`, ...lines(val, `${pad}  `)] : [`${pad}${key(k)}: {}`];
    return [`${pad}${key(k)}: ${scalar(val)}`];
  });
}

/** One YAML document for plain data, ending in a newline. */
export function toYaml(value: unknown): string {
  return `${lines(value, '').join('\n')}\n`;
}
