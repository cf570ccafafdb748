/**
 * AD_* settings -> ActiveDirectoryConfig, checked at start so a bad value stops the worker with the variable's name
 * instead of failing the first provisioning. Undefined when AD_URL is unset (the AD activities then refuse).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ActiveDirectoryConfig } from '../../activities/active-directory.js';
import { wholeNumber } from '../../config/env.js';

const RELATIVE_DN = /^[A-Za-z][A-Za-z0-9-]*=(?:[^,\\]|\\.)+(?:,[A-Za-z][A-Za-z0-9-]*=(?:[^,\\]|\\.)+)*$/;

export function readActiveDirectoryConfig(env: NodeJS.ProcessEnv): ActiveDirectoryConfig | undefined {
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const url = value('AD_URL');
  if (url === undefined) return undefined;

  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`AD_URL: not a URL: ${url}`);
  }
  if (parsed.protocol !== 'ldaps:' && parsed.protocol !== 'ldap:') {
    throw new Error(
      `AD_URL: must start with ldaps:// (or ldap://, which is always upgraded with StartTLS), got ${url}`,
    );
  }
  if (!parsed.hostname || (parsed.pathname !== '' && parsed.pathname !== '/') || parsed.username || parsed.password) {
    throw new Error(`AD_URL: give only scheme, host and port (for example ldaps://dc1.contoso.com:636), got ${url}`);
  }

  const bindUser = value('AD_BIND_USER');
  if (bindUser === undefined) throw new Error('AD_BIND_USER: required when AD_URL is set (a UPN, DOMAIN\\user or DN)');

  // Not trimmed: a password may begin or end with a space; only the file's trailing newline is dropped.
  const inline = env.AD_BIND_PASSWORD;
  const passwordFile = value('AD_BIND_PASSWORD_FILE');
  if (inline && passwordFile) throw new Error('AD_BIND_PASSWORD and AD_BIND_PASSWORD_FILE: set one, not both');
  let bindPassword = inline ?? '';
  if (passwordFile) {
    try {
      bindPassword = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`AD_BIND_PASSWORD_FILE: cannot read ${passwordFile}: ${(err as Error).message}`);
    }
  }
  if (bindPassword === '') throw new Error('AD_BIND_PASSWORD or AD_BIND_PASSWORD_FILE: required when AD_URL is set');

  const caFile = value('AD_CA_FILE');
  if (caFile !== undefined) {
    if (!existsSync(caFile)) throw new Error(`AD_CA_FILE: ${caFile} does not exist`);
    if (!readFileSync(caFile, 'utf8').includes('-----BEGIN CERTIFICATE-----')) {
      throw new Error(`AD_CA_FILE: ${caFile} holds no PEM certificate`);
    }
  }

  const serverName = value('AD_SERVER_NAME');
  if (
    serverName !== undefined &&
    !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(serverName)
  ) {
    throw new Error(`AD_SERVER_NAME: not a host name: ${serverName}`);
  }

  const userContainer = value('AD_USER_CONTAINER');
  if (userContainer !== undefined && (!RELATIVE_DN.test(userContainer) || /(^|,)\s*DC=/i.test(userContainer))) {
    throw new Error(`AD_USER_CONTAINER: must be a DN relative to the domain, such as CN=Users, got ${userContainer}`);
  }

  const maxConnecting = wholeNumber(env, 'AD_MAX_CONNECTING', 1);

  return {
    url,
    bindUser,
    bindPassword,
    ...(caFile !== undefined && { caFile }),
    ...(serverName !== undefined && { serverName }),
    ...(userContainer !== undefined && { userContainer }),
    ...(maxConnecting !== undefined && { maxConnecting }),
  };
}
