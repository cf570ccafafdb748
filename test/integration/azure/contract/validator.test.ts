/**
 * The contract validator itself: the spec's own example response passes, and each kind of break it claims to catch
 * (a missing required property, a wrong type, a value outside an enum, null without x-nullable, a bad uuid, a
 * missing read-only property the example shows) is reported at its path. Without this a validator that accepts
 * everything would make every contract test green.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadExample } from './replay.js';
import { loadJson, missingReadOnly, SPECS_ROOT, validate, type Schema } from './swagger.js';

const SPEC = 'keyvault/2026-02-01/openapi.json';
const vault = { schema: { $ref: '#/definitions/Vault' }, file: path.join(SPECS_ROOT, SPEC) };
const shown = () =>
  structuredClone(loadExample(SPEC, 'Vaults_Get', 'getVault.json').responses['200']?.body) as Record<
    string,
    Record<string, unknown>
  >;

test("the spec's own example response validates", () => {
  assert.deepEqual(validate(vault, shown(), 'body'), []);
  assert.deepEqual(missingReadOnly(vault, shown(), shown(), 'body'), []);
});

test('each kind of break is reported at its path', () => {
  const body = shown();
  const props = body.properties as Record<string, unknown>;
  delete props.sku; // required by VaultProperties
  props.enableSoftDelete = 'yes'; // boolean
  props.provisioningState = 'Creating'; // not in VaultProvisioningState
  props.vaultUri = null; // no x-nullable
  props.tenantId = 'not-a-guid'; // format uuid
  delete props.hsmPoolResourceId; // read-only, shown by the example
  assert.deepEqual(validate(vault, body, 'body').sort(), [
    'body.properties.enableSoftDelete: expected a boolean, got string',
    'body.properties.provisioningState: "Creating" is not one of ["Succeeded","RegisteringDns"]',
    'body.properties.sku: required, missing',
    'body.properties.tenantId: "not-a-guid" is not a uuid',
    'body.properties.vaultUri: null where the spec has no x-nullable',
  ]);
  assert.deepEqual(missingReadOnly(vault, shown(), body, 'body'), [
    'body.properties.hsmPoolResourceId: read-only, shown by the example, missing',
  ]);
});

test('a property of a common-types parent (via allOf across files) is checked', () => {
  const body = shown();
  body.id = 42 as never; // Resource.id from common-types v5
  assert.deepEqual(validate(vault, body, 'body'), ['body.id: expected a string, got number']);
});

test("a service's own common-types (Compute's ../../../common-types/v1/common.json) resolve under its folder", () => {
  const spec = 'compute/2025-04-01/ComputeRP.json';
  const vmss = { schema: { $ref: '#/definitions/VirtualMachineScaleSet' }, file: path.join(SPECS_ROOT, spec) };
  const body = structuredClone(
    loadExample(spec, 'VirtualMachineScaleSets_Get', 'VirtualMachineScaleSet_Get.json').responses['200']?.body,
  ) as { properties: { hostGroup: { id: unknown } } };
  body.properties.hostGroup.id = 42; // SubResource.id, a string, in compute/common-types/v1/common.json
  assert.deepEqual(validate(vmss, body, 'body'), ['body.properties.hostGroup.id: expected a string, got number']);
});

/** Every spec file with operations under the fixtures (not examples, not common-types), relative to their root. */
function specFiles(dir = SPECS_ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'examples' || e.name === 'common-types' ? [] : specFiles(full);
    // A file of shared definitions only (no paths) is checked through the specs that use it.
    const paths = e.name.endsWith('.json') ? (loadJson(full) as { paths?: object }).paths : undefined;
    return paths && Object.keys(paths).length ? [path.relative(SPECS_ROOT, full)] : [];
  });
}

interface Op {
  operationId: string;
  responses: Record<string, { schema?: Schema }>;
  'x-ms-examples'?: Record<string, { $ref: string }>;
}

// The trimmed fixtures must still describe their own examples: a definition cut too deep (or a $ref left pointing
// at one) would otherwise surface only when the fake happens to return that part.
for (const spec of specFiles()) {
  test(`every example response of ${spec} validates against its own response schema`, () => {
    const file = path.join(SPECS_ROOT, spec);
    const doc = loadJson(file) as { paths: Record<string, Record<string, Op>> };
    const checked: string[] = [];
    for (const methods of Object.values(doc.paths)) {
      for (const op of Object.values(methods)) {
        for (const ex of Object.values(op['x-ms-examples'] ?? {})) {
          const example = loadExample(spec, op.operationId, path.basename(ex.$ref));
          for (const [code, r] of Object.entries(example.responses)) {
            const schema = op.responses[code]?.schema;
            if (!schema || r.body === undefined) continue;
            const s = { schema, file };
            const at = `${path.basename(ex.$ref)} ${code}`;
            assert.deepEqual(validate(s, r.body, at), [], at);
            assert.deepEqual(missingReadOnly(s, r.body, r.body, at), [], at);
            checked.push(at);
          }
        }
      }
    }
    assert.ok(checked.length > 0, `${spec}: no example response was checked`);
  });
}
