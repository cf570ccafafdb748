/**
 * The lab's Active Directory: a real Samba AD DC on loopback (lab.example.test / LAB / dc1), so the AD activities
 * run against LDAPS with certificate verification exactly as they would against Windows.
 */
import { existsSync, readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { LabPart } from '../part.js';
import { portOpen, runningPid, startDaemon, stopDaemon, tail, waitUntil } from '../process.js';
import { ensureSambaInstalled } from './install.js';
import { adminPassword, isProvisioned, provision } from './provision.js';
import { DC_FQDN, DNS_DOMAIN, HOST, LDAPS_PORT, PORTS, sambaPaths } from './settings.js';

const log = (line: string) => process.stderr.write(`[samba-lab] ${line}\n`);

/** True when LDAPS answers with a certificate that chains to the lab CA and names the DC. */
function ldapsReady(): Promise<boolean> {
  const { caFile } = sambaPaths();
  if (!existsSync(caFile)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = tls.connect({ host: HOST, port: LDAPS_PORT, ca: readFileSync(caFile), servername: DC_FQDN });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('secureConnect', () => done(socket.authorized));
    socket.once('error', () => done(false));
  });
}

function settings(): Record<string, string> {
  return {
    AD_URL: `ldaps://${HOST}:${LDAPS_PORT}`,
    AD_SERVER_NAME: DC_FQDN,
    AD_CA_FILE: sambaPaths().caFile,
    AD_BIND_USER: `Administrator@${DNS_DOMAIN}`,
    AD_BIND_PASSWORD: adminPassword(),
    AD_DOMAIN_FQDN: DNS_DOMAIN,
  };
}

async function start(): Promise<Record<string, string>> {
  if (process.getuid?.() !== 0) {
    throw new Error('samba lab: run as root (samba binds ports 389/636/88/464 and provisioning chowns its files)');
  }
  const p = sambaPaths();
  const pid = runningPid(p.pidFile);
  if (pid !== undefined) {
    await waitUntil('samba lab LDAPS', ldapsReady, { timeoutMs: 30_000, logFile: p.logFile });
    return settings();
  }
  const version = ensureSambaInstalled(log);
  const taken: number[] = [];
  for (const port of PORTS) if (await portOpen(port, HOST)) taken.push(port);
  if (taken.length > 0) {
    throw new Error(
      `samba lab: ${taken.length > 1 ? 'ports' : 'port'} ${taken.join(', ')} on ${HOST} ${taken.length > 1 ? 'are' : 'is'} taken by another process (an LDAP server, a KDC or a ` +
        `second lab?); Samba's LDAP ports cannot be moved, so stop that process first`,
    );
  }
  if (!isProvisioned()) provision(version, log);

  const started = Date.now();
  // Foreground (-i) in its own process group so stopDaemon ends samba and its workers together; single process
  // model: one process, quick to start, enough for a lab. Strong auth is passed at start because provisioning
  // drops it from smb.conf when it equals the default.
  const daemonPid = startDaemon({
    name: 'samba',
    command: 'samba',
    args: ['-i', '-M', 'single', '-s', p.conf, '-l', p.logDir, '--option=ldap server require strong auth = yes'],
    pidFile: p.pidFile,
    logFile: p.logFile,
  });
  await waitUntil(
    'samba lab LDAPS',
    async () => {
      if (runningPid(p.pidFile) === undefined) throw new Error(`samba (pid ${daemonPid}) exited:\n${tail(p.logFile)}`);
      return ldapsReady();
    },
    { timeoutMs: 60_000, logFile: p.logFile },
  ).catch(async (err: unknown) => {
    await stopDaemon(p.pidFile);
    throw err;
  });
  log(`samba ${version} up (pid ${daemonPid}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return settings();
}

async function stop(): Promise<void> {
  if (await stopDaemon(sambaPaths().pidFile)) log('samba stopped');
}

export const sambaLab: LabPart = {
  name: 'samba',
  start,
  stop,
  running: () => runningPid(sambaPaths().pidFile) !== undefined,
};
