/**
 * connect() against the lab's real kube-apiserver: one client set per kubeconfig, reused by every call, whose
 * requests share kept-alive TLS connections (the client library alone opens one per request); a changed
 * kubeconfig gets clients of its own, and a bad one still fails clearly and is not kept.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { ErrorType } from '../../../contract/errors.js';
import { cachedKubeconfigs, connect, SPEC } from '../../../activities/kubernetes/client.js';
import { assertFailure, kubeconfigPath } from './cluster.js';

const cluster = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'lab', windowsNodePools: [] };
const depsFor = (yaml: string, context?: string) => ({ kubeconfigFor: async () => yaml, context });

/**
 * TLS connections opened while `run` runs: https.Agent opens each through the tls module's connect, looked up at
 * every call, so counting calls to it counts connections.
 */
async function socketsOpened(run: () => Promise<unknown>): Promise<number> {
  const tls = createRequire(import.meta.url)('node:tls') as { connect: (...args: unknown[]) => unknown };
  const connect = tls.connect;
  let opened = 0;
  tls.connect = (...args: unknown[]) => {
    opened += 1;
    return connect(...args);
  };
  try {
    await run();
  } finally {
    tls.connect = connect;
  }
  return opened;
}

describe('connect', () => {
  const yaml = readFileSync(kubeconfigPath(), 'utf8');

  it('gives every call with the same kubeconfig the same clients', async () => {
    const a = await connect(depsFor(yaml), cluster);
    const b = await connect(depsFor(yaml), cluster);
    assert.equal(a, b, 'one client set per kubeconfig');
    assert.match(a.server, /^https:\/\//);
    // A kubeconfig with other text (a rotated credential, here a comment) is another entry.
    const c = await connect(depsFor(`${yaml}\n# rotated\n`), cluster);
    assert.notEqual(c, a);
  });

  it('sends many requests over a few kept-alive connections', async () => {
    const c = await connect(depsFor(yaml), cluster);
    const read = () => c.custom.listClusterCustomObject({ ...SPEC, limit: 1 });
    await read(); // the first connection
    const sequential = await socketsOpened(async () => {
      for (let i = 0; i < 20; i++) await read();
    });
    assert.ok(sequential <= 1, `20 requests one after another opened ${sequential} sockets (one per request before)`);
    const concurrent = await socketsOpened(() =>
      Promise.all(Array.from({ length: 10 }, () => c.rbac.listClusterRole({ limit: 1 }))),
    );
    assert.ok(concurrent <= 10, `10 requests at once opened ${concurrent} sockets`);
    const again = await socketsOpened(() =>
      Promise.all(Array.from({ length: 10 }, () => c.rbac.listClusterRole({ limit: 1 }))),
    );
    assert.ok(again < 10, `the next 10 at once reuse the connections of the first (opened ${again})`);
  });

  it('fails a kubeconfig that is not one, or lacks the context, and keeps neither', async () => {
    const before = cachedKubeconfigs();
    await assertFailure(connect(depsFor('clusters: [not, a, kubeconfig'), cluster), {
      nonRetryable: true,
      type: ErrorType.NotConfigured,
      message: /the kubeconfig of cluster lab is invalid/,
    });
    await assertFailure(connect(depsFor(yaml, 'no-such-context'), cluster), {
      nonRetryable: true,
      type: ErrorType.NotConfigured,
      message: /the kubeconfig of cluster lab (is invalid|has no current cluster)/,
    });
    assert.equal(cachedKubeconfigs(), before, 'a failed kubeconfig is not kept');
  });
});
