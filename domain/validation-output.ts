/**
 * What the validation pod runs (the checks of the AksGMSA module's Start-GMSACredentialSpecValidation, and of
 * Microsoft's gMSA troubleshooting guide) and how its output is judged. Each check's output is delimited so the
 * pod's log splits into one text per check, and each text is read for success: NEVER the exit code alone. `nltest`
 * prints `ERROR_NO_LOGON_SERVERS` and still "The command completed successfully" with exit code 0 (kubernetes PR
 * #99862), so a check that trusted either would pass a broken chain. Pure: the activity runs it, tests replay
 * recorded outputs through it (test/fixtures/validation/).
 */

export interface CheckResult {
  /** Which check, as a person names it. */
  link: string;
  ok: boolean;
  /** Why it passed (the DCs found, the trusted DC, the ticket's client) or the line that says why it failed. */
  detail: string;
}

type Judge = (output: string, ctx: { domainFqdn: string; gmsaName?: string }) => { ok: boolean; detail: string };

interface CheckDef {
  id: string;
  link: string;
  /** The cmd.exe command line (stderr is merged into stdout by the script). */
  command: (fqdn: string) => string;
  judge: Judge;
}

const srv = (fqdn: string) => `_ldap._tcp.dc._msdcs.${fqdn}`;

/** The checks, in the order the pod runs them. */
export const VALIDATION_CHECKS: readonly CheckDef[] = [
  {
    id: 'dns-srv',
    link: 'DNS SRV lookup of the domain controllers',
    command: (f) => `nslookup -type=SRV ${srv(f)}`,
    judge: (o) => judgeSrv(o),
  },
  {
    // Large AD answers are truncated over UDP and resolvers retry over TCP: a network that blocks TCP 53 breaks
    // gMSA while the UDP lookup above still passes (AKS gMSA troubleshooting).
    id: 'dns-srv-tcp',
    link: 'DNS SRV lookup over TCP',
    command: (f) => `nslookup -vc -type=SRV ${srv(f)}`,
    judge: (o) => judgeSrv(o),
  },
  {
    id: 'sc-verify',
    link: 'secure channel (nltest /sc_verify)',
    command: (f) => `nltest /sc_verify:${f}`,
    judge: (o) => judgeNltestStatus(o),
  },
  {
    id: 'parent-domain',
    link: 'domain of the credential spec (nltest /parentdomain)',
    command: () => 'nltest /parentdomain',
    judge: (o, c) => judgeParentDomain(o, c.domainFqdn),
  },
  {
    id: 'kerberos',
    link: 'Kerberos ticket (klist get krbtgt)',
    command: () => 'klist get krbtgt',
    judge: (o, c) => judgeKerberos(o, c.gmsaName),
  },
];

const BEGIN = '##aks-gmsa-check:begin:';
const END = '##aks-gmsa-check:end:';

/** A DNS name only: the FQDN is written into a script, so nothing else may reach it. */
const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/**
 * The PowerShell script the pod runs: every check through cmd.exe (so a tool's stderr lands in its section as
 * plain text), each output between a begin and an end marker, the exit code recorded for people only.
 */
export function validationScript(domainFqdn: string): string {
  if (!DNS_NAME.test(domainFqdn)) throw new Error(`not a DNS domain name: ${JSON.stringify(domainFqdn)}`);
  const lines = VALIDATION_CHECKS.map(
    (c) =>
      `Write-Output '${BEGIN}${c.id}##'; cmd.exe /d /c '${c.command(domainFqdn)} 2>&1' | Out-String -Width 4096; ` +
      `Write-Output "${END}${c.id}:exit=$LASTEXITCODE##"`,
  );
  return ["$ErrorActionPreference = 'Continue'", ...lines].join('\n');
}

export interface Section {
  output: string;
  /** The tool's exit code, as the script recorded it; undefined when the section never ended. */
  exitCode?: number;
}

/** The pod's log split into each check's output (CRLF made LF); a section that never ended runs to the log's end. */
export function splitSections(log: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: { id: string; lines: string[] } | undefined;
  const close = (exitCode?: number) => {
    if (current) sections.set(current.id, { output: current.lines.join('\n').trim(), exitCode });
    current = undefined;
  };
  for (const line of log.replace(/\r\n?/g, '\n').split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith(BEGIN)) {
      close();
      current = { id: trimmed.slice(BEGIN.length).replace(/#+$/, ''), lines: [] };
    } else if (trimmed.startsWith(END) && current) {
      const exit = /:exit=(-?\d+)##$/.exec(trimmed);
      close(exit ? Number(exit[1]) : undefined);
    } else current?.lines.push(line);
  }
  close();
  return sections;
}

/** Every check's verdict from the pod's log; a check with no section failed (the pod never ran it). */
export function judgeValidationLog(log: string, ctx: { domainFqdn: string; gmsaName?: string }): CheckResult[] {
  const sections = splitSections(log);
  return VALIDATION_CHECKS.map((c) => {
    const s = sections.get(c.id);
    if (!s) return { link: c.link, ok: false, detail: 'no output: the pod did not run this check' };
    return { link: c.link, ...c.judge(s.output, ctx) };
  });
}

// ---- the judges: each reads the tool's own words ----------------------------------------------------------

const firstLine = (o: string, re: RegExp) =>
  o
    .split('\n')
    .map((l) => l.trim())
    .find((l) => re.test(l));

const FAILED = /failed: Status = \d+ 0x[0-9a-f]+ \S+/i;
const COMPLETED = /The command completed successfully/i;

/** nslookup: passes only with an SRV answer naming a host; "can't find … Non-existent domain" and silence fail. */
export function judgeSrv(output: string): { ok: boolean; detail: string } {
  const hosts = [...output.matchAll(/svr hostname\s*=\s*(\S+)/gi)].map((m) => m[1]!);
  // A reverse lookup of the DNS server itself often times out first ("DNS request timed out", "Server: UnKnown")
  // and the answer still follows: only the answer decides.
  if (hosts.length > 0) return { ok: true, detail: `domain controllers: ${[...new Set(hosts)].join(', ')}` };
  const why = firstLine(output, /can't find|Non-existent domain|timed out|No response from server|refused|failed/i);
  return { ok: false, detail: why ?? 'no SRV record of a domain controller in the answer' };
}

/**
 * nltest /sc_verify (or /query, /sc_reset): every `Status = <n> 0x<hex> <NAME>` it prints must be 0 NERR_Success.
 * "The command completed successfully" alone proves nothing: PR #99862's output says it under ERROR_NO_LOGON_SERVERS.
 */
export function judgeNltestStatus(output: string): { ok: boolean; detail: string } {
  const failed = firstLine(output, FAILED);
  if (failed) return { ok: false, detail: failed };
  const statuses = [...output.matchAll(/^\s*(.*?)\s*Status = (\d+) 0x([0-9a-f]+) (\S+)/gim)].map((m) => ({
    what: m[1]!.replace(/\s+Status$/i, '').trim() || 'Status',
    code: Number(m[2]),
    name: m[4]!,
  }));
  if (statuses.length === 0) return { ok: false, detail: firstLine(output, /\S/) ?? 'no output' };
  const bad = statuses.find((s) => s.code !== 0);
  if (bad) return { ok: false, detail: `${bad.what}: ${bad.code} ${bad.name}` };
  if (!COMPLETED.test(output)) return { ok: false, detail: 'nltest did not say the command completed' };
  const dc = /Trusted DC Name\s+(\S+)/i.exec(output)?.[1];
  return { ok: true, detail: `${dc ? `trusted DC ${dc}, ` : ''}${statuses.map((s) => s.name).join(', ')}` };
}

/**
 * nltest /parentdomain: the domain the container's credential spec put it in (`contoso.com. (1)`), which must be
 * the binding's. It answers even for credentials that do not work (kubernetes e2e gmsa_multiple_containers): the
 * proof of the credential spec, not of the secure channel.
 */
export function judgeParentDomain(output: string, domainFqdn: string): { ok: boolean; detail: string } {
  const failed = firstLine(output, FAILED);
  if (failed) return { ok: false, detail: failed };
  const name = /^\s*([A-Za-z0-9][A-Za-z0-9.-]*?)\.?\s+\(\d+\)\s*$/m.exec(output)?.[1];
  if (!name) return { ok: false, detail: firstLine(output, /\S/) ?? 'no output' };
  if (!COMPLETED.test(output)) return { ok: false, detail: 'nltest did not say the command completed' };
  if (name.toLowerCase() !== domainFqdn.toLowerCase()) {
    return { ok: false, detail: `the pod is in domain ${name}, not ${domainFqdn}: the credential spec names another` };
  }
  return { ok: true, detail: `domain ${name}` };
}

/** klist get krbtgt: "A ticket to krbtgt has been retrieved successfully", for the gMSA (`<name>$`) when named. */
export function judgeKerberos(output: string, gmsaName?: string): { ok: boolean; detail: string } {
  if (!/A ticket to krbtgt has been retrieved successfully/i.test(output)) {
    const why = firstLine(output, /klist failed|Error calling API|failed|error/i);
    return { ok: false, detail: why ?? firstLine(output, /\S/) ?? 'no output' };
  }
  const client = /Client:\s*(\S+)\s*@\s*(\S+)/i.exec(output);
  const kdc = /Kdc Called:\s*(\S+)/i.exec(output)?.[1];
  if (client && gmsaName && client[1]!.toLowerCase() !== `${gmsaName.toLowerCase()}$`) {
    return { ok: false, detail: `the ticket is for ${client[1]}, not the gMSA ${gmsaName}$` };
  }
  return {
    ok: true,
    detail: `ticket for ${client ? `${client[1]} @ ${client[2]}` : 'krbtgt'}${kdc ? ` from ${kdc}` : ''}`,
  };
}

/** The checks as one line, failures marked: the activity's failure text, so a failing check names itself. */
export function describeChecks(checks: readonly CheckResult[]): string {
  const failed = checks.filter((c) => !c.ok).length;
  return (
    `${failed} of ${checks.length} checks failed: ` +
    checks.map((c) => `${c.ok ? '✔' : '✖'} ${c.link}: ${c.detail}`).join('; ')
  );
}
