/**
 * The provisioning request (DESIGN "Request body"): its schema, the real naming limits, and defaults.
 * Pure: used by the API to validate and by the OpenAPI document; the workflow imports the types only.
 */
import { Type, type Static } from 'typebox';
import { EVERY_OR_OFF_PATTERN, EVERY_OR_OFF_RULE, EVERY_PATTERN, EVERY_RULE } from './every.js';
import { CREDENTIAL_SPEC_NAME, GMSA_NAME, NAMESPACE, SERVICE_ACCOUNT, USER_NAME, type NameRule } from './naming.js';
import { ADOPT_KINDS } from './ownership.js';

export { RFC1123_LABEL_PATTERN } from './naming.js';

/** Each field carries the sentence a user sees when the value breaks its rule (see fieldErrors in validate.ts). */
const text = (rule: string, schema: Parameters<typeof Type.String>[0]) =>
  Type.String({ ...schema, description: rule, 'x-rule': rule });
/** A name field: its rule, lengths and pattern from domain/naming.ts, the one definition the activities check too. */
const nameField = (r: NameRule, schema: Parameters<typeof Type.String>[0] = {}) =>
  text(r.rule, {
    ...schema,
    pattern: r.pattern,
    ...(r.minLength !== undefined && { minLength: r.minLength }),
    ...(r.maxLength !== undefined && { maxLength: r.maxLength }),
  });

export const GUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
// A DNS name: labels of letters, digits and inner hyphens, at least two labels, at most 253 characters.
export const FQDN_PATTERN =
  '^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z][a-zA-Z0-9-]{0,61}[a-zA-Z0-9]$';
export const IPV4_PATTERN = '^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$';

export const ClusterRef = Type.Object(
  {
    subscriptionId: text('an Azure subscription id (GUID)', { pattern: GUID_PATTERN }),
    resourceGroup: text('a resource group name: 1-90 letters, digits, _ - . ( ), not ending in a dot', {
      pattern: '^[-\\w._()]{0,89}[-\\w_()]$',
    }),
    name: text('an AKS cluster name: 1-63 letters, digits, _ and -, starting and ending with a letter or digit', {
      pattern: '^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$',
    }),
    windowsNodePools: Type.Array(
      text('a Windows node pool name: 1-6 lowercase letters and digits, starting with a letter', {
        pattern: '^[a-z][a-z0-9]{0,5}$',
      }),
      { minItems: 1, uniqueItems: true, description: 'the Windows node pools whose hosts retrieve the gMSA password' },
    ),
  },
  { additionalProperties: false },
);

export const DomainRef = Type.Object(
  {
    fqdn: text('the domain DNS name, for example contoso.com', { pattern: FQDN_PATTERN }),
    dnsServer: Type.Optional(text('the IPv4 address of a DNS server of the domain', { pattern: IPV4_PATTERN })),
    controllerAddress: Type.Optional(
      text('a domain controller host name or IPv4 address', { pattern: `${FQDN_PATTERN}|${IPV4_PATTERN}` }),
    ),
  },
  { additionalProperties: false },
);

export const GmsaRef = Type.Object(
  {
    name: nameField(GMSA_NAME),
    standardUser: nameField(USER_NAME),
    credentialSpecName: nameField(CREDENTIAL_SPEC_NAME),
  },
  { additionalProperties: false },
);

export const AzureRef = Type.Object(
  {
    location: text('an Azure region name, for example westeurope', { pattern: '^[a-z][a-z0-9]{1,39}$' }),
    // Resource group of the vault and identity; defaults to the cluster's.
    resourceGroup: Type.Optional(
      text('a resource group name: 1-90 letters, digits, _ - . ( )', { pattern: '^[-\\w._()]{0,89}[-\\w_()]$' }),
    ),
    keyVault: Type.Object(
      {
        name: text('a Key Vault name: 3-24 letters, digits and -, starting with a letter, no --', {
          pattern: '^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$',
        }),
        secretName: text('a secret name: 1-127 letters, digits and -', { pattern: '^[a-zA-Z0-9-]{1,127}$' }),
      },
      { additionalProperties: false },
    ),
    managedIdentity: Type.Object(
      {
        name: text('a managed identity name: 3-128 letters, digits, - and _, starting with a letter or digit', {
          pattern: '^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$',
        }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const KdsRootKeyOptions = Type.Object(
  {
    create: Type.Boolean({ default: true, description: 'create a KDS root key when none is usable' }),
    effective: Type.Union([Type.Literal('immediately'), Type.Literal('backdated')], {
      default: 'immediately',
      description: 'immediately: usable in 10 hours (production); backdated: usable now (single-DC labs)',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const ProvisionOptions = Type.Object(
  {
    // No default: enabling gMSA updates the managed cluster, which reimages its Windows nodes; the caller says so.
    enableGmsaOnCluster: Type.Boolean({
      description:
        'true: the run may enable gMSA on the cluster when it is off, which reimages (restarts) every Windows node ' +
        '(a PodDisruptionBudget that blocks their drain makes AKS refuse); false: fail if it is off, with the az command',
    }),
    requireAdApproval: Type.Boolean({ default: false }),
    hostIdentity: Type.Union([Type.Literal('managedIdentity'), Type.Literal('kubeletIdentity')], {
      default: 'managedIdentity',
    }),
    keyVaultAccess: Type.Union([Type.Literal('accessPolicy'), Type.Literal('rbac')], { default: 'accessPolicy' }),
    rbac: Type.Object(
      {
        namespace: nameField(NAMESPACE, { default: 'default' }),
        serviceAccount: nameField(SERVICE_ACCOUNT, { default: 'default' }),
      },
      { additionalProperties: false, default: {} },
    ),
    rollbackOnFailure: Type.Boolean({ default: false }),
    // An enum, not a union of mapped literals: Static of a mapped union is never[].
    adopt: Type.Array(Type.Enum(ADOPT_KINDS), {
      default: [],
      uniqueItems: true,
      description:
        'kinds of existing object, not marked as ours, that the caller vouches for and the run may adopt and mark; ' +
        'never a privileged account',
    }),
    // How often the repair and rotation Schedules run. No schema default: a binding provisioned before the option existed gets the same 6h (contract/operations.ts
    // DEFAULT_REPAIR_EVERY), applied where the Schedule is made.
    repairEvery: Type.Optional(text(EVERY_OR_OFF_RULE, { pattern: EVERY_OR_OFF_PATTERN })),
    rotatePasswordEvery: Type.Optional(text(EVERY_RULE, { pattern: EVERY_PATTERN })),
  },
  { additionalProperties: false, default: {} },
);

export const ProvisionRequestSchema = Type.Object(
  {
    cluster: ClusterRef,
    domain: DomainRef,
    gmsa: GmsaRef,
    azure: AzureRef,
    kdsRootKey: KdsRootKeyOptions,
    options: ProvisionOptions,
  },
  { additionalProperties: false, $id: 'ProvisionRequest' },
);

export type ProvisionRequest = Static<typeof ProvisionRequestSchema>;
export type ClusterRef = Static<typeof ClusterRef>;
