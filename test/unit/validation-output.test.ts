/**
 * The validation pod's judges on recorded outputs (test/fixtures/validation/README.md says where each came from):
 * each check passes on what the tool prints when it works and fails, naming the tool's own reason, on what it
 * prints when it does not; in particular PR #99862's nltest output, which ends in "The command completed
 * successfully" with exit code 0 and still reports ERROR_NO_LOGON_SERVERS.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  judgeKerberos,
  judgeNltestStatus,
  judgeParentDomain,
  judgeSrv,
  judgeValidationLog,
  splitSections,
  validationScript,
  VALIDATION_CHECKS,
} from '../../domain/validation-output.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/validation/${name}`, import.meta.url), 'utf8').replace(/\r\n/g, '\n');
const raw = (name: string) => readFileSync(new URL(`../fixtures/validation/${name}`, import.meta.url), 'utf8');

/** A pod log as the script writes it: each output between its markers, CRLF as Windows prints it. */
function podLog(sections: Record<string, { output: string; exit?: number }>): string {
  return Object.entries(sections)
    .map(
      ([id, s]) =>
        `##aks-gmsa-check:begin:${id}##\r\n${s.output.replace(/\n/g, '\r\n')}\r\n##aks-gmsa-check:end:${id}:exit=${s.exit ?? 0}##`,
    )
    .join('\r\n');
}

describe('nltest status lines', () => {
  test('PR #99862: ERROR_NO_LOGON_SERVERS under "The command completed successfully" fails', () => {
    const out = raw('nltest-query-no-logon-servers-pr99862.txt');
    assert.match(out, /The command completed successfully/, 'the fixture says it completed');
    assert.ok(out.includes('\r\n'), 'the fixture keeps the CRLF of the recorded stdout');
    const v = judgeNltestStatus(out.replace(/\r\n/g, '\n'));
    assert.equal(v.ok, false);
    assert.match(v.detail, /Connection: 1311 ERROR_NO_LOGON_SERVERS/);
  });

  test('sc_verify with both statuses NERR_Success passes and names the trusted DC', () => {
    const v = judgeNltestStatus(fixture('nltest-sc-verify-ok.txt'));
    assert.deepEqual(v, { ok: true, detail: 'trusted DC \\\\dc01.contoso.com, NERR_Success, NERR_Success' });
  });

  test('sc_verify with ERROR_NO_LOGON_SERVERS fails although it "completed successfully"', () => {
    const v = judgeNltestStatus(fixture('nltest-sc-verify-no-logon-servers.txt'));
    assert.equal(v.ok, false);
    assert.match(v.detail, /Trusted DC Connection: 1311 ERROR_NO_LOGON_SERVERS/);
  });

  test('I_NetLogonControl failed: RPC_S_SERVER_UNAVAILABLE fails with that line', () => {
    const v = judgeNltestStatus(fixture('nltest-sc-verify-rpc-unavailable.txt'));
    assert.deepEqual(v, {
      ok: false,
      detail: 'I_NetLogonControl failed: Status = 1722 0x6ba RPC_S_SERVER_UNAVAILABLE',
    });
  });

  test('sc_reset success (one status line) passes', () => {
    assert.equal(judgeNltestStatus(fixture('nltest-sc-reset-ok.txt')).ok, true);
  });

  test('a success status without "completed" or with no status at all fails', () => {
    assert.equal(judgeNltestStatus('Trusted DC Connection Status Status = 0 0x0 NERR_Success').ok, false);
    assert.equal(judgeNltestStatus('').ok, false);
  });
});

describe('nltest /parentdomain', () => {
  test("passes for the binding's domain, case and trailing dot aside", () => {
    assert.deepEqual(judgeParentDomain(fixture('nltest-parentdomain-ok.txt'), 'APPMIG.local'), {
      ok: true,
      detail: 'domain appmig.local',
    });
  });
  test('fails when the pod is in another domain (the spec names another)', () => {
    const v = judgeParentDomain(fixture('nltest-parentdomain-ok.txt'), 'contoso.com');
    assert.equal(v.ok, false);
    assert.match(v.detail, /in domain appmig\.local, not contoso\.com/);
  });
  test('fails on RPC_S_SERVER_UNAVAILABLE (the pod did not get the credential spec)', () => {
    const v = judgeParentDomain(fixture('nltest-parentdomain-rpc-unavailable.txt'), 'contoso.com');
    assert.deepEqual(v, {
      ok: false,
      detail: 'Getting parent domain failed: Status = 1722 0x6ba RPC_S_SERVER_UNAVAILABLE',
    });
  });
});

describe('klist get krbtgt', () => {
  test('a retrieved ticket for the gMSA passes, naming client and KDC', () => {
    assert.deepEqual(judgeKerberos(fixture('klist-get-ok.txt'), 'WebApp01'), {
      ok: true,
      detail: 'ticket for webapp01$ @ CONTOSO.COM from dc01.contoso.com',
    });
  });
  test('a ticket for another account fails', () => {
    const v = judgeKerberos(fixture('klist-get-ok.txt'), 'otherapp');
    assert.equal(v.ok, false);
    assert.match(v.detail, /for webapp01\$, not the gMSA otherapp\$/);
  });
  test('Access Denied fails with the API error', () => {
    const v = judgeKerberos(fixture('klist-get-access-denied.txt'), 'webapp01');
    assert.equal(v.ok, false);
    assert.match(v.detail, /Error calling API LsaCallAuthenticationPackage/);
  });
});

describe('nslookup SRV', () => {
  test('an answer lists every domain controller', () => {
    assert.deepEqual(judgeSrv(fixture('nslookup-srv-ok.txt')), {
      ok: true,
      detail: 'domain controllers: dc1.example.microsoft.com, dc2.example.microsoft.com',
    });
  });
  test('Non-existent domain fails with that line', () => {
    const v = judgeSrv(fixture('nslookup-srv-nxdomain.txt'));
    assert.equal(v.ok, false);
    assert.match(v.detail, /can't find _ldap\._tcp\.dc\._msdcs\.lumen\.local: Non-existent domain/);
  });
  test('a timed-out reverse lookup of the server before the answer does not fail it', () => {
    assert.equal(judgeSrv(fixture('nslookup-srv-reverse-timeout-then-answer.txt')).ok, true);
  });
  test('no SRV record at all fails', () => {
    assert.equal(judgeSrv('Server:  UnKnown\nAddress:  10.0.0.10\n').ok, false);
  });
});

describe('the pod log', () => {
  const good = {
    'dns-srv': { output: fixture('nslookup-srv-ok.txt') },
    'dns-srv-tcp': { output: fixture('nslookup-srv-ok.txt') },
    'sc-verify': { output: fixture('nltest-sc-verify-ok.txt') },
    'parent-domain': { output: 'contoso.com. (1)\nThe command completed successfully' },
    kerberos: { output: fixture('klist-get-ok.txt') },
  };

  test('splits into sections with their exit codes, CRLF made LF', () => {
    const s = splitSections(podLog({ ...good, 'sc-verify': { output: 'x\ny', exit: 5 } }));
    assert.deepEqual([...s.keys()], ['dns-srv', 'dns-srv-tcp', 'sc-verify', 'parent-domain', 'kerberos']);
    assert.deepEqual(s.get('sc-verify'), { output: 'x\ny', exitCode: 5 });
  });

  test('every check passes on good outputs', () => {
    const checks = judgeValidationLog(podLog(good), { domainFqdn: 'contoso.com', gmsaName: 'webapp01' });
    assert.deepEqual(
      checks.map((c) => c.ok),
      [true, true, true, true, true],
    );
    assert.deepEqual(
      checks.map((c) => c.link),
      VALIDATION_CHECKS.map((c) => c.link),
    );
  });

  test('the #99862 output with exit code 0 fails its check, and only that one', () => {
    const log = podLog({
      ...good,
      'sc-verify': { output: fixture('nltest-query-no-logon-servers-pr99862.txt'), exit: 0 },
    });
    const checks = judgeValidationLog(log, { domainFqdn: 'contoso.com', gmsaName: 'webapp01' });
    assert.deepEqual(
      checks.filter((c) => !c.ok).map((c) => c.link),
      ['secure channel (nltest /sc_verify)'],
    );
  });

  test('a check the pod never reached fails, saying so (a section cut off runs to the end)', () => {
    const { kerberos: _k, ...rest } = good;
    const cut = `${podLog(rest)}\r\n##aks-gmsa-check:begin:kerberos##\r\nCurrent LogonId is 0:0x1`;
    const checks = judgeValidationLog(cut, { domainFqdn: 'contoso.com', gmsaName: 'webapp01' });
    assert.equal(checks.at(-1)!.ok, false);
    const none = judgeValidationLog('', { domainFqdn: 'contoso.com' });
    assert.ok(none.every((c) => !c.ok && /did not run/.test(c.detail)));
  });

  test('the script runs every check between the markers the splitter reads, and takes only a DNS name', () => {
    const script = validationScript('lab.example.test');
    for (const c of VALIDATION_CHECKS) {
      assert.ok(script.includes(`##aks-gmsa-check:begin:${c.id}##`), c.id);
      assert.ok(script.includes(`##aks-gmsa-check:end:${c.id}:exit=$LASTEXITCODE##`), c.id);
    }
    assert.match(script, /nslookup -vc -type=SRV _ldap\._tcp\.dc\._msdcs\.lab\.example\.test/);
    assert.match(script, /nltest \/sc_verify:lab\.example\.test/);
    assert.throws(() => validationScript("lab.test'; Remove-Item C:\\"), /not a DNS domain name/);
  });
});
