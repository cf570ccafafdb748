/**
 * One verified, bound LDAP connection per activity call: LDAPS, or LDAP upgraded with StartTLS before any bind, with
 * the DC certificate checked against the configured CA and server name. Never sends a credential in clear.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ApplicationFailure } from '@temporalio/common';
import { Client, InvalidCredentialsError, type Entry, type Filter, type SearchOptions } from 'ldapts';
import { ErrorType, fatal } from '../../contract/errors.js';
import { Gate } from '../../domain/gate.js';
import type { ActiveDirectoryConfig } from './config.js';
import { bindFailureReason, isNoSuchObject, toActivityFailure } from './ldap-errors.js';

/** Attributes whose values are binary; listing them stops ldapts turning bytes that happen to be UTF-8 into text. */
export const BINARY_ATTRIBUTES = [
  'objectGUID',
  'objectSid',
  'msDS-GroupMSAMembership',
  'msDS-ManagedPassword',
  'msDS-ManagedPasswordId',
  'msKds-RootKeyData',
  'msKds-KDFParam',
  'msKds-SecretAgreementParam',
];

export interface Endpoint {
  url: string;
  caFile?: string;
  serverName?: string;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Connects (TCP, TLS and bind) to this DC in flight at once from this process; DEFAULT_MAX_CONNECTING when unset. */
  maxConnecting?: number;
}

/**
 * A fleet starts hundreds of AD steps together, and each opens its own connection. A DC takes the handshakes and
 * binds a few at a time: the lab's (one Samba process) served about 50 a second whether 2 or 16 came at once, and
 * of 150 at once it dropped about half at the connect timeout, each then retried on a growing backoff. Queued here
 * instead, a connect waits its turn without its timeout running. It bounds only the connecting: an open session
 * holds no slot, so a step that checks a bind inside its session (canBind) cannot wait on itself.
 */
export const DEFAULT_MAX_CONNECTING = 8;
const gates = new Map<string, Gate>();
function connectGate(endpoint: Endpoint): Gate {
  const limit = endpoint.maxConnecting ?? DEFAULT_MAX_CONNECTING;
  const key = `${limit} ${endpoint.url}`;
  let gate = gates.get(key);
  if (!gate) gates.set(key, (gate = new Gate(limit)));
  return gate;
}

function tlsOptions(endpoint: Endpoint, host: string): ConnectionOptions {
  const options: ConnectionOptions = { minVersion: 'TLSv1.2' };
  if (endpoint.caFile) {
    try {
      options.ca = readFileSync(endpoint.caFile);
    } catch (err) {
      throw fatal(ErrorType.NotConfigured, `cannot read the AD CA file ${endpoint.caFile}: ${(err as Error).message}`);
    }
  }
  // Node checks the certificate against servername, else the host it connects to (an IP rarely matches).
  const name = endpoint.serverName ?? (isIP(host) ? undefined : host);
  if (name) options.servername = name;
  else options.host = host;
  return options;
}

export class LdapSession {
  private constructor(
    readonly client: Client,
    private readonly secrets: readonly string[],
  ) {}

  /** Connects, secures and binds; failures come back classified (see ldap-errors). */
  static async open(endpoint: Endpoint, user: string, password: string): Promise<LdapSession> {
    const url = new URL(endpoint.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const secure = url.protocol === 'ldaps:';
    if (!secure && url.protocol !== 'ldap:') {
      throw fatal(ErrorType.NotConfigured, `AD_URL must be ldaps:// or ldap:// (StartTLS), got ${url.protocol}`);
    }
    const tls = tlsOptions(endpoint, host);
    // For ldap:// the TLS options go to startTLS only: given to the Client they would make it speak TLS at once.
    const client = new Client({
      url: endpoint.url,
      timeout: endpoint.timeoutMs ?? 15_000,
      connectTimeout: endpoint.connectTimeoutMs ?? 5_000,
      ...(secure ? { tlsOptions: tls } : {}),
    });
    const session = new LdapSession(client, [password]);
    try {
      await connectGate(endpoint).run(async () => {
        if (!secure) await client.startTLS(tls);
        await client.bind(user, password);
      });
    } catch (err) {
      await session.close();
      throw toActivityFailure(err, `connecting to ${endpoint.url} as ${user}`, [password], true);
    }
    return session;
  }

  /**
   * Whether `user` can bind with `password`: true, or AD's reason when the credentials are refused. Any other
   * failure (TLS, network) is thrown classified.
   */
  static async canBind(endpoint: Endpoint, user: string, password: string): Promise<true | string> {
    try {
      await (await LdapSession.open(endpoint, user, password)).close();
      return true;
    } catch (err) {
      const cause = err instanceof ApplicationFailure ? err.cause : undefined;
      if (cause instanceof InvalidCredentialsError) return bindFailureReason(cause);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }

  /** Runs `op`, classifying any failure with `action` as context. */
  async run<T>(action: string, op: (client: Client) => Promise<T>, extraSecrets: readonly string[] = []): Promise<T> {
    try {
      return await op(this.client);
    } catch (err) {
      throw toActivityFailure(err, action, [...this.secrets, ...extraSecrets]);
    }
  }

  async search(
    base: string,
    filter: string | Filter,
    attributes: string[],
    scope: SearchOptions['scope'] = 'sub',
  ): Promise<Entry[]> {
    return this.run(`searching ${base}`, async (c) => {
      const { searchEntries } = await c.search(base, {
        scope,
        filter,
        attributes,
        explicitBufferAttributes: BINARY_ATTRIBUTES,
      });
      return searchEntries;
    });
  }

  /** The entry at `dn`, or undefined when it does not exist. */
  async read(dn: string, attributes: string[]): Promise<Entry | undefined> {
    try {
      const { searchEntries } = await this.client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes,
        explicitBufferAttributes: BINARY_ATTRIBUTES,
      });
      return searchEntries[0];
    } catch (err) {
      if (isNoSuchObject(err)) return undefined;
      throw toActivityFailure(err, `reading ${dn}`, this.secrets);
    }
  }
}

export async function withSession<T>(
  config: ActiveDirectoryConfig,
  fn: (session: LdapSession) => Promise<T>,
): Promise<T> {
  const session = await LdapSession.open(config, config.bindUser, config.bindPassword);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/** Attribute helpers: ldapts gives a single value or an array, strings or Buffers. */
export function first(entry: Entry, name: string): string | undefined {
  const v = entry[name];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

export function firstBuffer(entry: Entry, name: string): Buffer | undefined {
  const v = entry[name];
  const one = Array.isArray(v) ? v[0] : v;
  return Buffer.isBuffer(one) ? one : undefined;
}

export function all(entry: Entry, name: string): string[] {
  const v = entry[name];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}
