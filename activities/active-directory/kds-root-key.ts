/**
 * ensureKdsRootKey: find a usable KDS root key (msKds-ProvRootKey), or create one like Add-KdsRootKey.
 *
 * The 10-hour rule: DCs compute gMSA passwords only from a root key whose msKds-UseStartTime lies at least 10 hours
 * in the past, so every DC has it replicated. `immediately` writes UseStartTime = now (usable in 10 h, production);
 * `backdated` writes now - 10 h (usable at once; right only for a single-DC lab).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Attribute, EqualityFilter } from 'ldapts';
import { dateFromFileTime, fileTimeString } from '../../domain/filetime.js';
import { ErrorType, fatal } from '../../contract/errors.js';
import type { EnsureKdsRootKeyInput, KdsRootKeyResult } from '../../contract/activities.js';
import { readDomainContext, type DomainContext } from './domain-context.js';
import { KDS_DEFAULTS } from './kds-defaults.js';
import { isAlreadyExists } from './ldap-errors.js';
import { first, firstBuffer, type LdapSession } from './ldap-session.js';

export const REPLICATION_WAIT_MS = 10 * 3600 * 1000;

export interface RootKey {
  id: string;
  dn: string;
  useStart: Date;
  usableAt: Date;
}

const gkdsDn = (ctx: DomainContext) => `CN=Group Key Distribution Service,CN=Services,${ctx.configDn}`;
const masterRootKeysDn = (ctx: DomainContext) => `CN=Master Root Keys,${gkdsDn(ctx)}`;

/** Version-1 root keys the bind account can see (a non-admin sees none). */
export async function listRootKeys(session: LdapSession, ctx: DomainContext): Promise<RootKey[]> {
  const container = masterRootKeysDn(ctx);
  if (!(await session.read(container, ['cn']))) return [];
  const entries = await session.search(
    container,
    new EqualityFilter({ attribute: 'objectClass', value: 'msKds-ProvRootKey' }),
    ['cn', 'msKds-UseStartTime', 'msKds-Version'],
    'one',
  );
  const keys: RootKey[] = [];
  for (const e of entries) {
    const cn = first(e, 'cn');
    const useStartText = first(e, 'msKds-UseStartTime');
    if (!cn || !useStartText || first(e, 'msKds-Version') !== '1') continue;
    const useStart = dateFromFileTime(useStartText);
    keys.push({ id: cn, dn: e.dn, useStart, usableAt: new Date(useStart.getTime() + REPLICATION_WAIT_MS) });
  }
  return keys;
}

/** The key DCs use now (latest start among the usable ones) and the one that becomes usable next. */
export function pickRootKey(keys: RootKey[], now: Date): { usable?: RootKey; pending?: RootKey } {
  const usable = keys.filter((k) => k.usableAt <= now).sort((a, b) => b.useStart.getTime() - a.useStart.getTime())[0];
  const pending = keys.filter((k) => k.usableAt > now).sort((a, b) => a.usableAt.getTime() - b.usableAt.getTime())[0];
  return { usable, pending };
}

export function tenHourRule(now: Date, pending: RootKey | undefined): string {
  return (
    'domain controllers use a KDS root key only 10 hours after its msKds-UseStartTime, so every DC has it ' +
    (pending
      ? `replicated; the next key (${pending.id}) becomes usable at ${pending.usableAt.toISOString()}`
      : `replicated; there is no KDS root key yet: create one (kdsRootKey.create, or Add-KdsRootKey ` +
        `-EffectiveImmediately on a DC) and wait 10 hours, or on a single-DC lab use effective "backdated"`) +
    ` (now ${now.toISOString()})`
  );
}

const result = (key: RootKey, created: boolean): KdsRootKeyResult => ({
  keyId: key.id,
  usableAt: key.usableAt.toISOString(),
  created,
});

export async function ensureKdsRootKey(
  session: LdapSession,
  input: EnsureKdsRootKeyInput,
  now: Date,
): Promise<KdsRootKeyResult> {
  const ctx = await readDomainContext(session);
  const { usable, pending } = pickRootKey(await listRootKeys(session, ctx), now);
  if (usable) return result(usable, false);
  const backdated = input.effective === 'backdated';
  const candidateUsableAt = backdated ? now.getTime() : now.getTime() + REPLICATION_WAIT_MS;
  // A key that will be usable no later than a new one would be is as good as a new one.
  if (pending && (!input.create || pending.usableAt.getTime() <= candidateUsableAt)) return result(pending, false);
  if (!input.create) {
    throw fatal(
      ErrorType.PreconditionFailed,
      `no usable KDS root key and kdsRootKey.create is false: ${tenHourRule(now, pending)}`,
    );
  }
  return result(
    await createRootKey(session, ctx, new Date(now.getTime() - (backdated ? REPLICATION_WAIT_MS : 0)), now),
    true,
  );
}

async function ensureContainer(session: LdapSession, dn: string): Promise<void> {
  if (await session.read(dn, ['cn'])) return;
  await session.run(`creating container ${dn}`, async (c) => {
    try {
      await c.add(dn, [new Attribute({ type: 'objectClass', values: ['top', 'container'] })]);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  });
}

async function createRootKey(session: LdapSession, ctx: DomainContext, useStart: Date, now: Date): Promise<RootKey> {
  // 4.17-era Samba DCs lack these containers; Windows and newer Samba have them.
  await ensureContainer(session, gkdsDn(ctx));
  await ensureContainer(session, masterRootKeysDn(ctx));

  const configDn = `CN=Group Key Distribution Service Server Configuration,CN=Server Configuration,${gkdsDn(ctx)}`;
  const config = await session.read(configDn, [
    'msKds-Version',
    'msKds-KDFAlgorithmID',
    'msKds-KDFParam',
    'msKds-SecretAgreementAlgorithmID',
    'msKds-SecretAgreementParam',
    'msKds-PublicKeyLength',
    'msKds-PrivateKeyLength',
  ]);
  const configVersion = config && first(config, 'msKds-Version');
  if (configVersion !== undefined && configVersion !== '1') {
    throw fatal(
      ErrorType.PreconditionFailed,
      `${configDn} has msKds-Version ${configVersion}; only version 1 is known`,
    );
  }
  const server = ctx.serverName ? await session.read(ctx.serverName, ['serverReference']) : undefined;
  const dcComputerDn = server && first(server, 'serverReference');
  if (!dcComputerDn) {
    throw fatal(
      ErrorType.PreconditionFailed,
      `cannot find the DC's computer object (serverReference of ${ctx.serverName})`,
    );
  }

  const id = randomUUID();
  const dn = `CN=${id},${masterRootKeysDn(ctx)}`;
  const text = (type: string, fallback: string | number) =>
    new Attribute({ type, values: [(config && first(config, type)) ?? String(fallback)] });
  const bytes = (type: string, fallback: Buffer) =>
    new Attribute({ type, values: [(config && firstBuffer(config, type)) ?? fallback] });
  const keyData = randomBytes(KDS_DEFAULTS.rootKeyLength);
  const attributes = [
    new Attribute({ type: 'objectClass', values: ['msKds-ProvRootKey'] }),
    new Attribute({ type: 'cn', values: [id] }),
    new Attribute({ type: 'msKds-Version', values: ['1'] }),
    new Attribute({ type: 'msKds-DomainID', values: [dcComputerDn] }),
    text('msKds-KDFAlgorithmID', KDS_DEFAULTS.kdfAlgorithm),
    bytes('msKds-KDFParam', KDS_DEFAULTS.kdfParam),
    text('msKds-SecretAgreementAlgorithmID', KDS_DEFAULTS.secretAgreementAlgorithm),
    bytes('msKds-SecretAgreementParam', KDS_DEFAULTS.secretAgreementParam),
    text('msKds-PublicKeyLength', KDS_DEFAULTS.publicKeyLength),
    text('msKds-PrivateKeyLength', KDS_DEFAULTS.privateKeyLength),
    new Attribute({ type: 'msKds-RootKeyData', values: [keyData] }),
    new Attribute({ type: 'msKds-CreateTime', values: [fileTimeString(now)] }),
    new Attribute({ type: 'msKds-UseStartTime', values: [fileTimeString(useStart)] }),
  ];
  // The key material must not appear in a failure message.
  await session.run(`creating KDS root key ${dn}`, (c) => c.add(dn, attributes), [keyData.toString('hex')]);
  return { id, dn, useStart, usableAt: new Date(useStart.getTime() + REPLICATION_WAIT_MS) };
}
