/**
 * Median time per AD activity against the lab DC (or any DC the AD_* settings name). Each call opens its own
 * verified LDAPS connection and binds, as in production; the bind alone is measured too, as the baseline.
 *
 *   npx tsx bench/active-directory.ts [rounds]       (starts the lab DC when AD_URL is unset; needs root then)
 */
import { performance } from 'node:perf_hooks';
import { createActiveDirectoryActivities } from '../activities/active-directory.js';
import { LdapSession } from '../activities/active-directory/ldap-session.js';
import { sambaLab } from '../lab/samba/index.js';
import { InMemorySecretReader } from '../lab/in-memory-secret-reader.js';
import { adLabFromEnv, ccgSecret, deleteBySam, strongPassword, uniqueName, vaultUri } from '../lab/samba/client.js';

const rounds = Number(process.argv[2] ?? 15);
if (!process.env.AD_URL) Object.assign(process.env, await sambaLab.start());
const lab = adLabFromEnv();
const secrets = new InMemorySecretReader();
const ad = createActiveDirectoryActivities({ config: lab.config, secrets });
const domainFqdn = lab.domainFqdn;

const samples = new Map<string, number[]>();
async function time<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const out = await fn();
  const list = samples.get(label) ?? [];
  list.push(performance.now() - start);
  samples.set(label, list);
  return out;
}

const cleanup: string[] = [];
try {
  for (let i = 0; i < rounds; i++) {
    const user = uniqueName('bu-');
    const gmsa = uniqueName('bg-');
    cleanup.push(user, `${gmsa}$`);
    secrets.set(vaultUri, user, ccgSecret(domainFqdn, user, strongPassword()));
    // Outside a workflow the activities are told whom they act for: one binding for the whole bench.
    const owner = { binding: 'bench-active-directory', adopt: [] };
    const userInput = { domainFqdn, user, secret: { vaultUri, secretName: user }, owner };

    await time('connect + bind (baseline)', async () =>
      (await LdapSession.open(lab.config, lab.config.bindUser, lab.config.bindPassword)).close(),
    );
    await time('getDomainFacts', () => ad.getDomainFacts({ domainFqdn }));
    await time('ensureKdsRootKey (found)', () => ad.ensureKdsRootKey({ create: true, effective: 'backdated' }));
    const { sid } = await time('ensureDomainUser (create)', () => ad.ensureDomainUser(userInput));
    await time('ensureDomainUser (rerun)', () => ad.ensureDomainUser(userInput));
    await time('ensureGmsa (create)', () =>
      ad.ensureGmsa({ domainFqdn, name: gmsa, allowedPrincipalSids: [sid], owner }),
    );
    await time('ensureGmsa (rerun)', () =>
      ad.ensureGmsa({ domainFqdn, name: gmsa, allowedPrincipalSids: [sid], owner }),
    );
    await time('removeGmsa', () => ad.removeGmsa({ domainFqdn, name: gmsa, owner }));
    await time('removeDomainUser', () => ad.removeDomainUser({ domainFqdn, user, owner }));
  }
} finally {
  for (const sam of cleanup) await deleteBySam(lab, sam).catch(() => undefined);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const baseline = median(samples.get('connect + bind (baseline)')!);
console.log(`AD activities against ${lab.config.url} (${rounds} rounds, one connection + bind per call)`);
console.log(
  `${'activity'.padEnd(28)} ${'median ms'.padStart(10)} ${'min ms'.padStart(8)} ${'max ms'.padStart(8)} ${'x bind'.padStart(7)}`,
);
for (const [label, xs] of samples) {
  const m = median(xs);
  console.log(
    `${label.padEnd(28)} ${m.toFixed(1).padStart(10)} ${Math.min(...xs)
      .toFixed(1)
      .padStart(8)} ${Math.max(...xs)
      .toFixed(1)
      .padStart(8)} ${(m / baseline).toFixed(1).padStart(7)}`,
  );
}
