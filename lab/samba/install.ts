/**
 * Installs Samba's AD DC packages from Debian. Default: bookworm-backports (Samba 4.22), because only a DC of 4.20 or
 * later computes msDS-ManagedPassword; LAB_SAMBA_FROM_BACKPORTS=0 keeps the stable 4.17 (stores gMSAs, no passwords).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

const PACKAGES = [
  'samba-ad-dc',
  'samba-ad-provision',
  'samba-dsdb-modules',
  'samba-vfs-modules',
  'winbind',
  'ldb-tools',
];
const BACKPORTS_SOURCE = '/etc/apt/sources.list.d/samba-lab-backports.sources';
const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

function installedVersion(pkg: string): string | undefined {
  try {
    const out = execFileSync('dpkg-query', ['-W', '-f=${Status}|${Version}', pkg], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [status, version] = out.split('|');
    return status === 'install ok installed' ? version : undefined;
  } catch {
    return undefined;
  }
}

/** The mirror and keyring apt already trusts for bookworm, so no mirror host is ever hard-coded. */
function bookwormMirror(): { uri: string; signedBy?: string } {
  const dir = '/etc/apt/sources.list.d';
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sources')) : [];
  for (const file of files) {
    for (const stanza of readFileSync(`${dir}/${file}`, 'utf8').split(/\n\s*\n/)) {
      const field = (name: string) => stanza.match(new RegExp(`^${name}:\\s*(.+)$`, 'mi'))?.[1]?.trim();
      const suites = field('Suites')?.split(/\s+/) ?? [];
      const uri = field('URIs')?.split(/\s+/)[0];
      if (uri && suites.includes('bookworm')) return { uri, signedBy: field('Signed-By') };
    }
  }
  const list = existsSync('/etc/apt/sources.list') ? readFileSync('/etc/apt/sources.list', 'utf8') : '';
  const line = list.split('\n').find((l) => /^deb\s+\S+\s+bookworm\s/.test(l));
  if (line) return { uri: line.split(/\s+/)[1]! };
  throw new Error('samba lab: cannot find the Debian mirror apt uses for bookworm (needed for bookworm-backports)');
}

function backportsConfigured(): boolean {
  const dir = '/etc/apt/sources.list.d';
  const texts = [
    existsSync('/etc/apt/sources.list') ? readFileSync('/etc/apt/sources.list', 'utf8') : '',
    ...(existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(`${dir}/${f}`, 'utf8')) : []),
  ];
  return texts.some((t) => /^[^#]*bookworm-backports/m.test(t));
}

function apt(args: string[]): void {
  execFileSync('apt-get', args, { env: APT_ENV, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Installs what is missing; returns the Samba version. Fast (dpkg queries only) when all is in place. */
export function ensureSambaInstalled(log: (line: string) => void): string {
  const fromBackports = process.env.LAB_SAMBA_FROM_BACKPORTS !== '0';
  const missing = PACKAGES.filter((p) => installedVersion(p) === undefined);
  const needsBackport = fromBackports && !(installedVersion('samba')?.includes('bpo') ?? false);
  if (missing.length > 0 || needsBackport) {
    const target: string[] = [];
    if (fromBackports) {
      const release = readFileSync('/etc/os-release', 'utf8');
      if (!/^VERSION_CODENAME=bookworm$/m.test(release)) {
        throw new Error('samba lab: Samba from bookworm-backports is only wired for Debian bookworm');
      }
      if (!backportsConfigured()) {
        const { uri, signedBy } = bookwormMirror();
        const lines = ['Types: deb', `URIs: ${uri}`, 'Suites: bookworm-backports', 'Components: main'];
        if (signedBy) lines.push(`Signed-By: ${signedBy}`);
        writeFileSync(BACKPORTS_SOURCE, `${lines.join('\n')}\n`);
        log(`added ${BACKPORTS_SOURCE}`);
      }
      target.push('-t', 'bookworm-backports');
    }
    const started = Date.now();
    log(`installing ${PACKAGES.join(' ')}${fromBackports ? ' from bookworm-backports' : ''}`);
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', '--no-install-recommends', ...target, ...PACKAGES]);
    log(`installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return execFileSync('samba', ['-V'], { encoding: 'utf8' }).trim().split(/\s+/)[1] ?? 'unknown';
}
