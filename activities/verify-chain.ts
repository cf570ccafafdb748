/**
 * The chain check: what a Windows node does at container start, without a Windows node. Read the secret the way
 * the CCG plugin does, bind to AD as the standard user, read the gMSA's managed password, and ask the API server
 * whether the service account may `use` the spec. A failure names the broken link; no password is ever returned.
 */
import type { ActiveDirectoryConfig } from './active-directory/config.js';
import { findBySam, readDomainContext } from './active-directory/domain-context.js';
import { firstBuffer, LdapSession } from './active-directory/ldap-session.js';
import { parseCcgSecret } from '../domain/ccg-secret.js';
import { ErrorType, fatal, transient } from '../contract/errors.js';
import type { KubernetesActivities } from './kubernetes.js';
import type { ChainCheck, SecretReader, VerifyChainInput, VerifyChainResult } from '../contract/activities.js';

export interface VerifyChainDeps {
  secrets: SecretReader;
  ad: ActiveDirectoryConfig;
  canUseCredentialSpec: KubernetesActivities['canUseCredentialSpec'];
}

/** `https://vault/secrets/name[/version]` → where the SecretReader looks. */
function splitSecretUri(uri: string): { vaultUri: string; secretName: string } {
  const u = new URL(uri);
  const [, kind, name] = u.pathname.split('/');
  if (kind !== 'secrets' || !name) throw fatal(ErrorType.InvalidInput, `not a Key Vault secret URI: ${uri}`);
  return { vaultUri: `${u.origin}/`, secretName: name };
}

export function createVerifyChainActivity(deps: VerifyChainDeps) {
  async function verifyChain(input: VerifyChainInput): Promise<VerifyChainResult> {
    const checks: ChainCheck[] = [];
    const broken = (link: string, detail: string, retryable: boolean): never => {
      const message = `chain broken at "${link}": ${detail}`;
      throw retryable ? transient(message) : fatal(ErrorType.PreconditionFailed, message);
    };

    // 1. The secret, split by the plugin's rule.
    const { vaultUri, secretName } = splitSecretUri(input.secretUri);
    const credential = parseCcgSecret(await deps.secrets.read(vaultUri, secretName));
    if (!credential) broken('Key Vault secret', `${input.secretUri} is not in the DOMAIN\\user:password format`, false);
    const { domain, user, password } = credential!;
    if (domain.toLowerCase() !== input.domainFqdn.toLowerCase()) {
      broken('Key Vault secret', `names domain ${domain}, not ${input.domainFqdn}`, false);
    }
    checks.push({ link: 'Key Vault secret', ok: true, detail: `${domain}\\${user}` });

    // 2. and 3. Bind as the standard user and read the gMSA's managed password, as CCG does.
    const session = await LdapSession.open(deps.ad, `${user}@${domain}`, password);
    try {
      checks.push({ link: 'AD bind as the standard user', ok: true, detail: `${user}@${domain}` });
      const ctx = await readDomainContext(session);
      const gmsa = await findBySam(session, ctx, `${input.gmsaName}$`, ['msDS-ManagedPassword']);
      if (!gmsa) broken('gMSA', `${input.gmsaName}$ is not visible to ${user}`, false);
      const blob = firstBuffer(gmsa!, 'msDS-ManagedPassword');
      // An empty answer: the user is not among the readers, or no KDS root key is usable on this DC yet.
      if (!blob || blob.length < 16) {
        broken('gMSA managed password', `${user} cannot read msDS-ManagedPassword of ${input.gmsaName}$`, true);
      }
      checks.push({ link: 'gMSA managed password', ok: true, detail: `${blob!.length}-byte password blob` });
    } finally {
      await session.close();
    }

    // 4. RBAC: what the admission webhook asks before it injects the spec into a pod.
    const { namespace, serviceAccount } = input.rbac;
    const review = await deps.canUseCredentialSpec({
      cluster: input.cluster,
      specName: input.specName,
      namespace,
      serviceAccount,
    });
    if (!review.allowed) {
      broken(
        'RBAC',
        `system:serviceaccount:${namespace}:${serviceAccount} may not use ${input.specName}: ${review.reason}`,
        false,
      );
    }
    checks.push({ link: 'RBAC', ok: true, detail: `${namespace}/${serviceAccount} may use ${input.specName}` });
    return { checks };
  }
  return { verifyChain };
}
