/**
 * rotateGmsaUserPassword (DESIGN "Day 2"): a new password for the binding's standard user, set in AD and written as
 * a new version of every secret that holds that user's credential (one password per user: every binding of the
 * same gMSA user has a copy in its vault), then the chain check. The password never enters this workflow: it is
 * generated into a staging secret (`<canonical secret>-next`) and each activity reads it from there.
 *
 * Why AD first, then the vaults. A container starting during the rotation reads whatever its vault holds, and CCG
 * logs on with it. Once AD has the new password, a vault still holding the old one keeps working for a while: the
 * DC accepts the previous password for NTLM for OldPasswordAllowedPeriod (60 minutes by default, KB 906305; Samba's
 * "old password allowed period", which covers an admin reset and a simple LDAP bind too, as the lab shows), and DCs
 * not replicated yet know only the old one; the vault writes follow within seconds. A vault ahead of AD holds a
 * password no DC knows yet, which fails at once. And this order keeps every failure recoverable: AD may refuse a
 * password (its policy), which then has reached no vault; a failure after AD leaves the staged password, which a
 * rerun finds and finishes with (it never makes a second one). The canonical secret is written last, so "the
 * canonical secret holds the staged value" means the rotation is done (activities/azure/secret-versions.ts).
 */
import type { DomainUserLookup, VerifyChainResult } from '../contract/activities.js';
import type { BindingRecord, RotatePasswordInput } from '../contract/operations.js';
import type {
  DomainPasswordResult,
  PublishedVersion,
  SkippedSecret,
  StagedPassword,
  UserSecretsResult,
} from '../contract/rotation.js';
import { bindingOwner, chainInput, outputsOf, readBindingPolicy, requestOf, runOperation } from './operation.js';
import { graph, refuse, stepsFor } from './runner.js';
import { dataPlane, quick, verification } from './step-policies.js';

export const ROTATION_STEPS = [
  'readBinding',
  'findDomainUser',
  'listUserSecrets',
  'stageUserPassword',
  'setDomainUserPassword',
  'publishUserPassword',
  'dropStagedPassword',
  'verifyChain',
] as const;

interface RotationResults {
  readBinding: BindingRecord;
  findDomainUser: DomainUserLookup;
  listUserSecrets: UserSecretsResult;
  stageUserPassword: StagedPassword;
  setDomainUserPassword: DomainPasswordResult;
  publishUserPassword: { versions: PublishedVersion[] };
  dropStagedPassword: { deleted: boolean; purged: boolean };
  verifyChain: VerifyChainResult;
}

/** The rotation's result: where the new password went and when AD took it; nothing secret. */
export interface RotationOutputs {
  domainUserDn: string;
  /** pwdLastSet after the rotation (ISO). */
  passwordSetAt?: string;
  /** False when AD had the staged password already (a rerun finishing a rotation). */
  adChanged: boolean;
  /** Every secret written or found holding the new password, with the version that holds it. */
  secrets: { secretUri: string; version?: string; changed: boolean }[];
  /** Listed secrets left alone, and why. */
  skipped: SkippedSecret[];
  /** The bindings that record one of the secrets. */
  bindings: string[];
  chain: VerifyChainResult['checks'];
}

const step = stepsFor<RotatePasswordInput, RotationResults>();
const user = (b: BindingRecord) => ({ domainFqdn: requestOf(b).domain.fqdn, user: requestOf(b).gmsa.standardUser });

const rotationGraph = graph<RotatePasswordInput, RotationResults>([
  step.activity('readBinding', {
    needs: [],
    policy: readBindingPolicy,
    describe: (i) => `read binding ${i.bindingId}`,
    input: (i) => ({ bindingId: i.bindingId, requireSettled: true }),
    summary: (b) => `${b.status} provisioning of ${b.request.gmsa.standardUser}@${b.request.domain.fqdn}`,
  }),

  // Read-only, before anything is written: a foreign or privileged account fails here, and the user's marker
  // names its canonical secret.
  step.activity('findDomainUser', {
    needs: ['readBinding'],
    policy: quick,
    describe: () => 'look up the standard user',
    input: (i, { readBinding: b }) => {
      if (!outputsOf(b)?.secretUri) {
        throw refuse(
          `provisioning ${i.bindingId} is ${b.status}, not completed: it has no secret to rotate; run it again first`,
        );
      }
      return { ...user(b), owner: bindingOwner(i.bindingId) };
    },
    summary: (u) =>
      u.existing
        ? `${u.existing.dn}; canonical secret ${u.existing.canonicalSecretUri ?? 'not named'}`
        : 'no such user',
  }),

  step.activity('listUserSecrets', {
    needs: ['readBinding', 'findDomainUser'],
    policy: quick,
    describe: () => "list the vaults holding the user's secret",
    input: (i, { readBinding: b, findDomainUser: u }) => {
      if (!u.existing) throw refuse(`user ${user(b).user} does not exist in ${user(b).domainFqdn}; run repair first`);
      return {
        bindingId: i.bindingId,
        ...user(b),
        ownSecretUri: outputsOf(b)!.secretUri,
        ...(u.existing.canonicalSecretUri ? { canonicalSecretUri: u.existing.canonicalSecretUri } : {}),
      };
    },
    summary: (s) => `${s.secrets.length} secret(s) of ${s.bindings.length} binding(s)`,
  }),

  step.activity('stageUserPassword', {
    needs: ['readBinding', 'listUserSecrets'],
    policy: dataPlane,
    describe: () => 'stage a new password in the canonical vault',
    input: (i, { readBinding: b, listUserSecrets: s }) => ({
      ...user(b),
      candidates: s.secrets,
      owner: bindingOwner(i.bindingId),
    }),
    summary: (s) =>
      `${s.created ? 'staged a new password' : 'kept the password staged by an unfinished rotation'} in ${s.staged.secretName}; ` +
      `${s.targets.length} secret(s) to write${s.skipped.length ? `, ${s.skipped.length} skipped` : ''}`,
  }),

  // AD first: see the top of this file.
  step.activity('setDomainUserPassword', {
    needs: ['readBinding', 'stageUserPassword'],
    policy: quick,
    describe: () => 'set the staged password in AD',
    input: (i, { readBinding: b, stageUserPassword: s }) => ({
      ...user(b),
      from: s.staged,
      owner: bindingOwner(i.bindingId),
    }),
    summary: (r) => `${r.changed ? 'set' : 'AD already had'} the new password on ${r.dn}`,
  }),

  step.activity('publishUserPassword', {
    needs: ['readBinding', 'stageUserPassword', 'setDomainUserPassword'],
    policy: dataPlane,
    describe: () => 'write the new password to every vault of the user',
    input: (i, { readBinding: b, stageUserPassword: s }) => ({
      ...user(b),
      from: s.staged,
      to: s.targets,
      owner: bindingOwner(i.bindingId),
    }),
    summary: (p) =>
      `${p.versions.filter((v) => v.changed).length} new version(s), ` +
      `${p.versions.filter((v) => !v.changed && !v.skipped).length} already current` +
      (p.versions.some((v) => v.skipped) ? `, ${p.versions.filter((v) => v.skipped).length} skipped` : ''),
  }),

  step.activity('dropStagedPassword', {
    needs: ['stageUserPassword', 'publishUserPassword'],
    policy: dataPlane,
    describe: () => 'drop the staging secret',
    input: (i, { stageUserPassword: s }) => ({ staged: s.staged, owner: bindingOwner(i.bindingId) }),
    summary: (d) =>
      d.deleted ? `deleted${d.purged ? ' and purged' : ''} the staging secret` : 'no staging secret left',
  }),

  step.activity('verifyChain', {
    needs: ['readBinding', 'publishUserPassword'],
    policy: verification,
    describe: () => 'verify secret → AD → gMSA password → RBAC',
    input: (_i, { readBinding: b }) => chainInput(b),
    summary: (v) => v.checks.map((c) => `${c.ok ? '✔' : '✖'} ${c.link}`).join(', '),
  }),
]);

export async function rotateGmsaUserPassword(input: RotatePasswordInput): Promise<RotationOutputs> {
  return runOperation({
    names: ROTATION_STEPS,
    graph: rotationGraph,
    input,
    context: {},
    outputs: (r) => ({
      domainUserDn: r.setDomainUserPassword.dn,
      ...(r.setDomainUserPassword.passwordLastSet ? { passwordSetAt: r.setDomainUserPassword.passwordLastSet } : {}),
      adChanged: r.setDomainUserPassword.changed,
      secrets: r.publishUserPassword.versions
        .filter((v) => !v.skipped)
        .map(({ secretUri, version, changed }) => ({ secretUri, ...(version ? { version } : {}), changed })),
      skipped: [
        ...r.stageUserPassword.skipped,
        ...r.publishUserPassword.versions
          .filter((v) => v.skipped)
          .map((v) => ({ secretUri: v.secretUri, reason: v.skipped! })),
      ],
      bindings: r.listUserSecrets.bindings,
      chain: r.verifyChain.checks,
    }),
  });
}
