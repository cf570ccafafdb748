/**
 * Every installed package runs on the oldest Node this project supports (package.json `engines`): a dependency
 * whose release needs a newer Node (cookie 2 needs 22) is pinned to its last release for ours, not found in CI's
 * EBADENGINE warnings.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import semver from 'semver';
import { PROJECT_ROOT } from '../../lab/paths.js';

const read = (file: string) => JSON.parse(readFileSync(`${PROJECT_ROOT}/${file}`, 'utf8'));

test('every locked package accepts the oldest supported Node', () => {
  const oldest = semver.minVersion(read('package.json').engines.node as string)!.version;
  const packages = read('package-lock.json').packages as Record<
    string,
    { version?: string; engines?: { node?: string } }
  >;
  const refused = Object.entries(packages)
    .filter(([name, p]) => name && p.engines?.node && !semver.satisfies(oldest, p.engines.node))
    .map(([name, p]) => `${name.replace(/^.*node_modules\//, '')}@${p.version} needs Node ${p.engines!.node}`);
  assert.deepEqual(refused, [], `Node ${oldest} is supported`);
  assert.ok(Object.keys(packages).length > 100, 'the lock file lists the installed packages');
});
