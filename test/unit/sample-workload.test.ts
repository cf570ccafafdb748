/**
 * The sample workload (Get-GMSASampleApplicationYAML parity) and the image rule under it: the YAML text reads back
 * (with the `yaml` package, an independent parser) as exactly the objects built, the Deployment uses the binding's
 * spec, namespace and service account, the image follows the pools' OS SKU, and the pools it may run on share it.
 * (test/integration/kubernetes/sample-workload.test.ts has a real API server accept it.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { buildSampleWorkload, sampleName, toYaml } from '../../domain/sample-workload.js';
import { UnsupportedWindowsSku, windowsImagesFor } from '../../domain/windows-image.js';

interface Deployment {
  metadata: { name: string; namespace: string };
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: { windowsOptions: { gmsaCredentialSpecName: string } };
        nodeSelector: Record<string, string>;
        affinity?: unknown;
        containers: { image: string; command: string[]; args: string[] }[];
        volumes: { configMap: { name: string } }[];
      };
    };
  };
}

const parse = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as Record<string, unknown>);
const deploymentOf = (yaml: string) => parse(yaml).find((o) => o.kind === 'Deployment') as unknown as Deployment;

describe('windowsImagesFor', () => {
  test('Windows2022 → ltsc2022, Windows2025 → ltsc2025 (Server Core and IIS)', () => {
    assert.deepEqual(windowsImagesFor('Windows2022', 'win1'), {
      release: 'ltsc2022',
      serverCore: 'mcr.microsoft.com/windows/servercore:ltsc2022',
      iis: 'mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022',
    });
    assert.equal(windowsImagesFor('Windows2025', 'win2').serverCore, 'mcr.microsoft.com/windows/servercore:ltsc2025');
  });
  test('Windows2019 is refused as out of support, naming the pool and the way out', () => {
    assert.throws(
      () => windowsImagesFor('Windows2019', 'old1'),
      (e: unknown) =>
        e instanceof UnsupportedWindowsSku &&
        /old1 runs Windows2019, which is out of support/.test(e.message) &&
        /--os-sku Windows2022/.test(e.message),
    );
  });
  test('an unknown or missing SKU is a clear error', () => {
    assert.throws(() => windowsImagesFor('Ubuntu', 'nodepool1'), /OS SKU "Ubuntu", which is not a Windows SKU/);
    assert.throws(() => windowsImagesFor(undefined, 'win1'), /win1 reports no OS SKU/);
  });
});

describe('buildSampleWorkload', () => {
  const input = {
    specName: 'webapp01',
    namespace: 'apps',
    serviceAccount: 'webapp-sa',
    pools: [{ name: 'win1', osSku: 'Windows2022' }],
  };

  test('the YAML reads back as the objects built: ConfigMap, Deployment, Service named <spec>-demo', () => {
    const w = buildSampleWorkload(input);
    assert.deepEqual(parse(w.yaml), w.objects);
    assert.deepEqual(
      w.objects.map((o) => `${o.kind}/${(o.metadata as { name: string }).name}`),
      ['ConfigMap/webapp01-demo', 'Deployment/webapp01-demo', 'Service/webapp01-demo'],
    );
  });

  test("the Deployment uses the binding's spec, namespace, service account, image and pool", () => {
    const w = buildSampleWorkload(input);
    const d = deploymentOf(w.yaml);
    assert.equal(d.metadata.namespace, 'apps');
    const pod = d.spec.template.spec;
    assert.equal(pod.securityContext.windowsOptions.gmsaCredentialSpecName, 'webapp01');
    assert.equal(pod.serviceAccountName, 'webapp-sa');
    assert.equal(pod.containers[0]!.image, 'mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022');
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'windows', agentpool: 'win1' });
    assert.deepEqual(w.nodeSelector, pod.nodeSelector);
    assert.equal(w.image, pod.containers[0]!.image);
    assert.deepEqual(d.spec.selector.matchLabels, d.spec.template.metadata.labels);
    assert.deepEqual(
      [...pod.containers[0]!.command, ...pod.containers[0]!.args],
      ['powershell', '-File', '/gmsa-demo/run.ps1'],
    );
    assert.equal(pod.volumes[0]!.configMap.name, 'webapp01-demo');
  });

  test('run.ps1 turns Windows authentication on and anonymous off, and keeps IIS in the foreground', () => {
    const cm = parse(buildSampleWorkload(input).yaml)[0] as { data: Record<string, string> };
    const ps1 = cm.data['run.ps1']!;
    assert.match(ps1, /Install-WindowsFeature Web-Windows-Auth, Web-Asp-Net45/);
    assert.match(ps1, /windowsAuthentication'\)\.Attributes\['enabled'\]\.Value = \$true/);
    assert.match(ps1, /anonymousAuthentication'\)\.Attributes\['enabled'\]\.Value = \$false/);
    assert.match(ps1, /C:\\ServiceMonitor\.exe w3svc\n$/);
  });

  test('several pools of one SKU: an agentpool affinity over all of them; another SKU is left out, said in a comment', () => {
    const w = buildSampleWorkload({
      ...input,
      pools: [
        { name: 'win25a', osSku: 'Windows2025' },
        { name: 'win22', osSku: 'Windows2022' },
        { name: 'win25b', osSku: 'Windows2025' },
      ],
    });
    assert.deepEqual(w.pools, ['win25a', 'win25b']);
    assert.equal(w.image, 'mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025');
    const pod = deploymentOf(w.yaml).spec.template.spec;
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'windows' });
    assert.deepEqual(pod.affinity, {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'agentpool', operator: 'In', values: ['win25a', 'win25b'] }] },
          ],
        },
      },
    });
    assert.match(w.yaml, /^# Not scheduled on win22 \(Windows2022\): another image\.$/m);
  });

  test('a Windows2019 first pool is refused; a spec name starting with a digit still makes a valid Service name', () => {
    assert.throws(
      () => buildSampleWorkload({ ...input, pools: [{ name: 'w19', osSku: 'Windows2019' }] }),
      UnsupportedWindowsSku,
    );
    assert.equal(sampleName('1app'), 'gmsa-1app-demo');
    assert.ok(sampleName('a'.repeat(253)).length <= 63);
  });
});

describe('toYaml', () => {
  test('strings YAML would misread are quoted, and every value reads back as it was', () => {
    const tricky = {
      plain: 'IfNotPresent',
      yes: 'yes',
      on: 'on',
      colon: 'a: b',
      hash: '# not a comment',
      digits: '0420',
      float: '1.0',
      dash: '-File',
      empty: '',
      quote: `it's "quoted"`,
      backslash: 'C:\\ServiceMonitor.exe',
      multi: 'line one\n  indented\n\nlast\n',
      noEol: 'a\nb',
      leadingSpace: '  spaced\nsecond',
      n: 80,
      t: true,
      list: ['a', 1, { k: 'v', l: [] }, [], {}],
      'key with: colon': { nested: { deeper: ['x'] } },
    };
    assert.deepEqual(parse(toYaml(tricky))[0], tricky);
  });
});
