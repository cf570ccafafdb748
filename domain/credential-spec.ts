/**
 * The GMSACredentialSpec resource and the RBAC that lets a service account `use` it (pure, no I/O).
 *
 * The `credspec` document is what the windows-gmsa admission webhook copies into a pod's
 * `securityContext.windowsOptions.gmsaCredentialSpec` and what ccg.exe on the node reads: it names the domain
 * (whose SID and GUID, not the gMSA's), the gMSA in both scopes, and the AKS plugin that fetches the standard user's
 * credentials from Key Vault as the managed identity.
 */
import { K8S_MANAGED_BY_LABEL, PRODUCT } from './ownership.js';
import { GUID_PATTERN, RFC1123_LABEL_PATTERN } from './request.js';

/** The domain as a credential spec names it (read by getDomainFacts). */
export interface DomainFacts {
  dnsName: string;
  netbiosName: string;
  /** The forest root's DNS name (credspec DnsTreeName). */
  forestRoot: string;
  /** The domain's objectGUID as a lowercase string (not the gMSA's). */
  domainGuid: string;
  /** The domain SID, S-1-5-21-a-b-c (not the gMSA's). */
  domainSid: string;
}

export const CREDSPEC_GROUP = 'windows.k8s.io';
export const CREDSPEC_VERSION = 'v1';
export const CREDSPEC_PLURAL = 'gmsacredentialspecs';
export const CREDSPEC_KIND = 'GMSACredentialSpec';
/** The CCG plugin AKS installs on Windows nodes (Key Vault + managed identity). */
export const AKS_CCG_PLUGIN_GUID = '{CCC2A336-D7F3-4818-A213-272B7924213E}';
/**
 * The label every object this product writes carries (one home: domain/ownership.ts, which adds the binding's
 * label and annotations, `bindingMeta`, written by the activity in the same call).
 */
export const MANAGED_BY_LABEL = K8S_MANAGED_BY_LABEL;
export const MANAGED_BY = PRODUCT;

/** The metadata of what this product writes: its name, its labels, and the binding's annotations once marked. */
export interface ManifestMeta {
  name: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface CredSpecDocument {
  CmsPlugins: string[];
  DomainJoinConfig: {
    DnsName: string;
    DnsTreeName: string;
    Guid: string;
    MachineAccountName: string;
    NetBiosName: string;
    Sid: string;
  };
  ActiveDirectoryConfig: {
    GroupManagedServiceAccounts: { Name: string; Scope: string }[];
    HostAccountConfig: { PortableCcgVersion: string; PluginGUID: string; PluginInput: string };
  };
}

export interface GmsaCredentialSpecResource {
  apiVersion: string;
  kind: string;
  metadata: ManifestMeta;
  credspec: CredSpecDocument;
}

export interface CredentialSpecParams {
  specName: string;
  gmsaName: string;
  domain: DomainFacts;
  /** The managed identity's principalId (objectId; not its clientId) and the versionless secret URI. */
  hostAccount: { principalId: string; secretUri: string };
}

/** Bad input, with every problem found; the activity turns it into a non-retryable failure. */
export class CredentialSpecInputError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid credential spec input: ${problems.join('; ')}`);
    this.name = 'CredentialSpecInputError';
  }
}

const RFC1123_LABEL = new RegExp(RFC1123_LABEL_PATTERN);
const GUID = new RegExp(GUID_PATTERN);
const RFC1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DOMAIN_SID = /^S-1-5-21-\d{1,10}-\d{1,10}-\d{1,10}$/;
// The same characters the request schema allows in a gMSA name; the `$` of its sAMAccountName is added by AD.
const GMSA_NAME = /^[^"/\\[\]:;|=,+*?<>@\s$]{1,15}$/;

/** Problems with a spec name, empty when it is a lowercase RFC 1123 label (what RBAC resourceNames must match). */
export function specNameProblems(name: string): string[] {
  return RFC1123_LABEL.test(name)
    ? []
    : [`credential spec name "${name}" must be a lowercase RFC 1123 label: a-z, 0-9 and -, at most 63 characters`];
}

/** The plugin's input: `;`-separated keys that the plugin matches case-insensitively and in full. */
export function pluginInput(principalId: string, secretUri: string): string {
  return `ObjectId=${principalId};SecretUri=${secretUri}`;
}

function inputProblems(p: CredentialSpecParams): string[] {
  const problems = specNameProblems(p.specName);
  if (!GMSA_NAME.test(p.gmsaName.replace(/\$$/, '')))
    problems.push(
      `gMSA name "${p.gmsaName}" must be 1-15 characters without spaces or " / \\ [ ] : ; | = , + * ? < > @`,
    );
  if (!DOMAIN_SID.test(p.domain.domainSid))
    problems.push(`domain SID "${p.domain.domainSid}" is not a domain SID (S-1-5-21-a-b-c)`);
  if (!GUID.test(p.domain.domainGuid)) problems.push(`domain GUID "${p.domain.domainGuid}" is not a GUID`);
  for (const [field, value] of [
    ['DNS name', p.domain.dnsName],
    ['forest root', p.domain.forestRoot],
    ['NetBIOS name', p.domain.netbiosName],
  ] as const) {
    if (!value || /\s/.test(value)) problems.push(`domain ${field} "${value}" is empty or contains spaces`);
  }
  if (!GUID.test(p.hostAccount.principalId))
    problems.push(`managed identity principal id "${p.hostAccount.principalId}" is not a GUID`);
  let uri: URL | undefined;
  try {
    uri = new URL(p.hostAccount.secretUri);
  } catch {
    /* reported below */
  }
  // `;` would end the plugin's SecretUri key early; a version would pin the password the plugin reads.
  if (
    !uri ||
    uri.protocol !== 'https:' ||
    !/^\/secrets\/[A-Za-z0-9-]{1,127}\/?$/.test(uri.pathname) ||
    uri.search ||
    uri.hash ||
    p.hostAccount.secretUri.includes(';')
  )
    problems.push(
      `secret URI "${p.hostAccount.secretUri}" must be https://<vault host>/secrets/<name> without a version`,
    );
  return problems;
}

/** The credspec document exactly as the webhook and the CCG plugin expect it. Throws CredentialSpecInputError. */
export function buildCredSpecDocument(p: CredentialSpecParams): CredSpecDocument {
  const problems = inputProblems(p);
  if (problems.length > 0) throw new CredentialSpecInputError(problems);
  const account = p.gmsaName.replace(/\$$/, '');
  const { dnsName, netbiosName, forestRoot, domainGuid, domainSid } = p.domain;
  return {
    CmsPlugins: ['ActiveDirectory'],
    DomainJoinConfig: {
      DnsName: dnsName,
      DnsTreeName: forestRoot,
      Guid: domainGuid.toLowerCase(),
      MachineAccountName: account,
      NetBiosName: netbiosName,
      Sid: domainSid,
    },
    ActiveDirectoryConfig: {
      // Both scopes, as New-CredentialSpec writes them: CCG may be asked for either form of the domain.
      GroupManagedServiceAccounts: [
        { Name: account, Scope: dnsName },
        { Name: account, Scope: netbiosName },
      ],
      HostAccountConfig: {
        PortableCcgVersion: '1',
        PluginGUID: AKS_CCG_PLUGIN_GUID,
        PluginInput: pluginInput(p.hostAccount.principalId, p.hostAccount.secretUri.replace(/\/$/, '')),
      },
    },
  };
}

export function buildCredentialSpec(p: CredentialSpecParams): GmsaCredentialSpecResource {
  return {
    apiVersion: `${CREDSPEC_GROUP}/${CREDSPEC_VERSION}`,
    kind: CREDSPEC_KIND,
    metadata: { name: p.specName, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    credspec: buildCredSpecDocument(p),
  };
}

// ---- RBAC -------------------------------------------------------------------------------------------------------

export interface RbacTarget {
  specName: string;
  namespace: string;
  serviceAccount: string;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames: string[];
}

export interface ClusterRoleManifest {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'ClusterRole';
  metadata: ManifestMeta;
  rules: PolicyRule[];
}

export interface RoleBindingManifest {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'RoleBinding';
  metadata: ManifestMeta & { namespace: string };
  subjects: { kind: 'ServiceAccount'; name: string; namespace: string }[];
  roleRef: { apiGroup: 'rbac.authorization.k8s.io'; kind: 'ClusterRole'; name: string };
}

/** `<spec>-role`, the AKS documentation's naming. */
export function clusterRoleName(specName: string): string {
  return `${specName}-role`;
}

/** `allow-<sa>-svc-account-read-on-<spec>` (the AKS documentation's pattern), shortened to the 253-character limit. */
export function roleBindingName(specName: string, serviceAccount: string): string {
  const name = `allow-${serviceAccount}-svc-account-read-on-${specName}`;
  if (name.length <= 253) return name;
  // Keep it unique per service account: a short FNV-1a hash of the full name replaces the cut-off part.
  let h = 0x811c9dc5;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `${name.slice(0, 244).replace(/[.-]+$/, '')}-${h.toString(16).padStart(8, '0')}`;
}

export function rbacTargetProblems(t: RbacTarget): string[] {
  const problems = specNameProblems(t.specName);
  if (!RFC1123_LABEL.test(t.namespace))
    problems.push(`namespace "${t.namespace}" must be a lowercase RFC 1123 label (at most 63 characters)`);
  if (!RFC1123_SUBDOMAIN.test(t.serviceAccount))
    problems.push(`service account "${t.serviceAccount}" must be a lowercase RFC 1123 subdomain`);
  return problems;
}

/** A ClusterRole granting `use` on this one spec, and a RoleBinding giving it to one service account. */
export function buildCredentialSpecRbac(t: RbacTarget): {
  clusterRole: ClusterRoleManifest;
  roleBinding: RoleBindingManifest;
} {
  const problems = rbacTargetProblems(t);
  if (problems.length > 0) throw new CredentialSpecInputError(problems);
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY };
  const role = clusterRoleName(t.specName);
  return {
    clusterRole: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: role, labels },
      rules: [
        { apiGroups: [CREDSPEC_GROUP], resources: [CREDSPEC_PLURAL], verbs: ['use'], resourceNames: [t.specName] },
      ],
    },
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: roleBindingName(t.specName, t.serviceAccount), namespace: t.namespace, labels },
      subjects: [{ kind: 'ServiceAccount', name: t.serviceAccount, namespace: t.namespace }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    },
  };
}

/** The user name and groups the API server gives a service account's token (what RBAC and the webhook check). */
export function serviceAccountUser(namespace: string, serviceAccount: string): { user: string; groups: string[] } {
  return {
    user: `system:serviceaccount:${namespace}:${serviceAccount}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}
