/**
 * The Active Directory activities: domain facts, KDS root key, standard user (and its read-only look-up), gMSA, and
 * their removal. Each call opens one LDAPS (or StartTLS) connection with certificate verification, binds with the
 * worker's configured account, and reads before it writes (ownership first: active-directory/ownership.ts), so a
 * rerun changes nothing and nothing foreign is touched. Failures are classified (errors.ts); none carries a password.
 */
import type { ActiveDirectoryConfig } from './active-directory/config.js';
import { getDomainFacts } from './active-directory/domain-facts.js';
import { ensureDomainUser, findDomainUser, removeDomainUser } from './active-directory/domain-user.js';
import { ensureGmsa, removeGmsa } from './active-directory/gmsa.js';
import { ensureKdsRootKey } from './active-directory/kds-root-key.js';
import { withSession } from './active-directory/ldap-session.js';
import type {
  RemovalResult,
  RemoveDomainUserInput,
  RemoveGmsaInput,
  StepActivities,
  SecretReader,
} from '../contract/activities.js';

export type { ActiveDirectoryConfig } from './active-directory/config.js';

/** pino's shape, so the worker can pass its logger; fields never hold secrets. */
export interface ActivityLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

export interface ActiveDirectoryDeps {
  config: ActiveDirectoryConfig;
  secrets: SecretReader;
  /** The clock the 10-hour KDS rule is judged by; tests move it. */
  now?: () => Date;
  log?: ActivityLogger;
}

export type ActiveDirectoryActivities = Pick<
  StepActivities,
  'getDomainFacts' | 'findDomainUser' | 'ensureKdsRootKey' | 'ensureDomainUser' | 'ensureGmsa'
> & {
  removeGmsa(input: RemoveGmsaInput): Promise<RemovalResult>;
  removeDomainUser(input: RemoveDomainUserInput): Promise<RemovalResult>;
};

/** A removal's log line: a kept object (foreign, released, still used) is not an absent one. */
const removal = (what: string, out: RemovalResult) =>
  out.removed ? `${what} removed` : out.dn ? `${what} kept: not this binding's to delete` : `${what} already absent`;

export function createActiveDirectoryActivities(deps: ActiveDirectoryDeps): ActiveDirectoryActivities {
  const { config, secrets } = deps;
  const now = deps.now ?? (() => new Date());
  const log = (message: string, fields: Record<string, unknown>) =>
    deps.log?.info({ system: 'ad', ...fields }, message);

  return {
    getDomainFacts: (input) => withSession(config, (s) => getDomainFacts(s, input)),

    async findDomainUser(input) {
      const out = await withSession(config, (s) => findDomainUser(s, input));
      log('domain user looked up', { user: input.user, ...(out.existing ?? { existing: false }) });
      return out;
    },

    async ensureKdsRootKey(input) {
      const out = await withSession(config, (s) => ensureKdsRootKey(s, input, now()));
      log(out.created ? 'KDS root key created' : 'KDS root key found', { ...out, effective: input.effective });
      return out;
    },

    async ensureDomainUser(input) {
      const out = await withSession(config, (s) => ensureDomainUser(s, config, secrets, input));
      log('domain user ensured', { ...out, user: input.user });
      return out;
    },

    async ensureGmsa(input) {
      const out = await withSession(config, (s) => ensureGmsa(s, input, now()));
      log('gMSA ensured', { ...out, name: input.name, principals: input.allowedPrincipalSids.length });
      return out;
    },

    async removeGmsa(input) {
      const out = await withSession(config, (s) => removeGmsa(s, input));
      log(removal('gMSA', out), { ...out, name: input.name });
      return out;
    },

    async removeDomainUser(input) {
      const out = await withSession(config, (s) => removeDomainUser(s, config, input));
      log(removal('domain user', out), { ...out, user: input.user });
      return out;
    },
  };
}
