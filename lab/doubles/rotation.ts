/**
 * Doubles of RotationActivities (contract/rotation.ts): every result derived from the input (the binding, the
 * user, the secrets it names), so a workflow test proves what the workflow carried from step to step.
 */
import { createHash } from 'node:crypto';
import type { RotationActivities, SecretRef } from '../../contract/rotation.js';
import type { DoublesOf } from './day-two.js';

const uriOf = (r: SecretRef) => `${r.vaultUri.replace(/\/+$/, '')}/secrets/${r.secretName}`;
const refOf = (uri: string): SecretRef => {
  const u = new URL(uri);
  return { vaultUri: `${u.origin}/`, secretName: u.pathname.split('/')[2]! };
};
/** A Key Vault version id (32 hex) that follows the secret it belongs to. */
const versionOf = (uri: string) => createHash('sha256').update(`version:${uri}`).digest('hex').slice(0, 32);
const baseDn = (fqdn: string) => `DC=${fqdn.split('.').join(',DC=')}`;

/** The pwdLastSet the double reports: a fixed time, so a test can look for it in the outputs. */
export const DOUBLE_PASSWORD_SET_AT = '2026-01-01T00:00:00.000Z';

export const ROTATION_DOUBLES: DoublesOf<RotationActivities> = {
  listUserSecrets: (i) => {
    const uris = [...(i.canonicalSecretUri ? [i.canonicalSecretUri] : []), i.ownSecretUri];
    const unique = uris.filter((u, n) => uris.findIndex((x) => x.toLowerCase() === u.toLowerCase()) === n);
    return { secrets: unique.map(refOf), bindings: [i.bindingId] };
  },
  stageUserPassword: (i) => {
    const [canonical, ...rest] = i.candidates;
    if (!canonical) throw new Error('no candidates');
    return {
      canonical,
      staged: { vaultUri: canonical.vaultUri, secretName: `${canonical.secretName}-next` },
      created: true,
      targets: [...rest, canonical],
      skipped: [],
    };
  },
  setDomainUserPassword: (i) => ({
    dn: `CN=${i.user},CN=Users,${baseDn(i.domainFqdn)}`,
    changed: true,
    passwordLastSet: DOUBLE_PASSWORD_SET_AT,
  }),
  publishUserPassword: (i) => ({
    versions: i.to.map((r) => ({ secretUri: uriOf(r), version: versionOf(uriOf(r)), changed: true })),
  }),
  dropStagedPassword: () => ({ deleted: true, purged: true }),
};
