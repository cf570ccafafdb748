/**
 * Provisions the lab domain once into `.lab/samba/`, never touching the system's smb.conf, krb5.conf or resolv.conf.
 * A random Administrator password is kept in a root-only file next to the domain.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DC_NAME, NETBIOS_DOMAIN, REALM, sambaPaths } from './settings.js';

/** Meets AD complexity (upper, lower, digit, symbol) whatever the random part holds. */
function newAdminPassword(): string {
  return `Lab-${randomBytes(12).toString('base64url')}-7a!Z`;
}

function atLeast(version: string, wanted: [number, number]): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  return major > wanted[0] || (major === wanted[0] && minor >= wanted[1]);
}

export function isProvisioned(): boolean {
  const p = sambaPaths();
  if (![p.provisioned, p.conf, p.samLdb, p.adminPasswordFile].every((f) => existsSync(f))) return false;
  // smb.conf holds absolute paths: a lab directory that moved (another checkout, GMSA_LAB_DIR) is provisioned anew.
  return readFileSync(p.conf, 'utf8').includes(`private dir = ${p.dir}/private`);
}

export function adminPassword(): string {
  return readFileSync(sambaPaths().adminPasswordFile, 'utf8').trim();
}

export function provision(sambaVersion: string, log: (line: string) => void): void {
  const p = sambaPaths();
  if (existsSync(p.dir) && readdirSync(p.dir).length > 0 && !existsSync(p.marker)) {
    throw new Error(`samba lab: ${p.dir} is not empty and carries no lab marker; refusing to wipe it`);
  }
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.runDir, { recursive: true, mode: 0o700 });
  mkdirSync(p.logDir, { recursive: true });
  writeFileSync(p.marker, '');
  // Without an empty base config, provisioning copies the host's smb.conf sections into the lab's.
  writeFileSync(p.emptyBaseConf, '');
  const password = newAdminPassword();
  writeFileSync(p.adminPasswordFile, `${password}\n`, { mode: 0o600 });

  // 4.19+ can run at level 2016 (schema 2019) when told so; gMSA passwords need at least 2012.
  const modern = atLeast(sambaVersion, [4, 19]);
  const level = modern ? '2016' : '2008_R2';
  const started = Date.now();
  log(`provisioning ${REALM} (${NETBIOS_DOMAIN}), DC ${DC_NAME}, samba ${sambaVersion}, level ${level}`);
  const option = (o: string) => `--option=${o}`;
  const args = [
    'domain',
    'provision',
    '-s',
    p.emptyBaseConf,
    `--targetdir=${p.dir}`,
    `--realm=${REALM}`,
    `--domain=${NETBIOS_DOMAIN}`,
    `--host-name=${DC_NAME}`,
    '--server-role=dc',
    '--dns-backend=NONE',
    `--base-schema=${modern ? '2019' : '2012_R2'}`,
    `--function-level=${level}`,
    `--adminpass=${password}`,
    option('interfaces = 127.0.0.1'),
    option('bind interfaces only = yes'),
    option('disable netbios = yes'),
    option('server services = ldap, cldap, kdc'),
    option(`pid directory = ${p.runDir}`),
    option(`ncalrpc dir = ${p.runDir}/ncalrpc`),
    option(`winbindd socket directory = ${p.runDir}/winbindd`),
    option(`ntp signd socket directory = ${p.runDir}/ntp_signd`),
    option(`usershare path = ${p.dir}/usershares`),
    option(`log file = ${p.logDir}/log.samba`),
    ...(modern ? [option('ad dc functional level = 2016')] : []),
  ];
  try {
    const out = execFileSync('samba-tool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(p.provisionLog, out.replaceAll(password, '***'));
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    writeFileSync(p.provisionLog, `${e.stdout ?? ''}${e.stderr ?? ''}`.replaceAll(password, '***'));
    throw new Error(`samba lab: provisioning failed; see ${p.provisionLog}`);
  }
  // A lab kept longer than the 42-day maximum password age must not lock its own admin out.
  execFileSync('samba-tool', ['user', 'setexpiry', 'Administrator', '--noexpiry', '-H', p.samLdb, '-s', p.conf], {
    stdio: 'ignore',
  });
  writeFileSync(p.provisioned, new Date().toISOString());
  log(`provisioned in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
