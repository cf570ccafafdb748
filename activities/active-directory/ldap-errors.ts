/**
 * Turns what ldapts and Node's sockets throw into the two activity failure classes, with a message that says what to
 * fix. Busy, unavailable, timeouts and dropped connections retry; credentials, TLS, policy and access do not.
 * Every message passes through `redact` so no password can leak into a failure, a log line or the Temporal UI.
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  AlreadyExistsError,
  BusyError,
  ConfidentialityRequiredError,
  ConstraintViolationError,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  ResultCodeError,
  StrongAuthRequiredError,
  TLSNotSupportedError,
  UnavailableError,
  UnwillingToPerformError,
} from 'ldapts';
import { ErrorType, fatal, transient } from '../../contract/errors.js';
import { isTransientNetworkCode, UNRESOLVABLE_HOST_CODE } from '../../contract/retry.js';

const RETRYABLE_MESSAGES = [/Connection timeout/, /Operation timed out/, /Connection closed/, /Socket error/];
/** AD's sub-codes in "data 52e" of a failed bind (MS-ADTS / Windows error codes). */
const BIND_REASONS: Record<string, string> = {
  '525': 'the user does not exist',
  '52e': 'wrong user name or password',
  '530': 'the account may not log on at this time',
  '531': 'the account may not log on from this workstation',
  '532': 'the password has expired',
  '533': 'the account is disabled',
  '701': 'the account has expired',
  '773': 'the password must be changed',
  '775': 'the account is locked out',
};

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***');
  return out;
}

/** The DC's own text on one line: it names the rule that refused (password length, complexity, ...). */
const dcText = (err: Error) => err.message.replace(/\s+/g, ' ').trim();

export const bindFailureReason = (err: Error): string =>
  BIND_REASONS[/data ([0-9a-f]{3,4})/i.exec(err.message)?.[1]?.toLowerCase() ?? ''] ?? 'invalid credentials';

export function isTlsFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    (code.startsWith('ERR_TLS_') ||
      code.startsWith('ERR_SSL_') ||
      code.startsWith('CERT_') ||
      code === 'EPROTO' ||
      /SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|LEAF_SIGNATURE/.test(code))
  );
}

export const isNoSuchObject = (err: unknown) => err instanceof NoSuchObjectError;
export const isAlreadyExists = (err: unknown) => err instanceof AlreadyExistsError;

/**
 * Classifies `err` raised while doing `action` (e.g. "creating user CN=x,CN=Users,DC=..."). ApplicationFailures pass
 * through untouched: they were classified where they were raised.
 */
export function toActivityFailure(
  err: unknown,
  action: string,
  secrets: readonly string[] = [],
  keepCause = false,
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const say = (text: string) => redact(`${action}: ${text}`, secrets);
  // The raw error rides along only where a caller inspects it (canBind): a cause chain travels to Temporal
  // unredacted, so by default only the redacted message does.
  const cause = keepCause ? e : undefined;
  const code = (e as { code?: unknown }).code;

  if (isTlsFailure(e)) {
    return fatal(
      ErrorType.NotConfigured,
      say(
        `the TLS connection to the domain controller could not be verified (${String(code)}: ${e.message}); ` +
          'check AD_CA_FILE (the CA that issued the DC certificate), AD_SERVER_NAME (the name in that certificate) ' +
          'and that the URL points at an LDAPS port or a server offering StartTLS',
      ),
    );
  }
  if (e instanceof TLSNotSupportedError) {
    return fatal(ErrorType.NotConfigured, say('the domain controller does not offer StartTLS; use an ldaps:// URL'));
  }
  if (e instanceof StrongAuthRequiredError || e instanceof ConfidentialityRequiredError) {
    return fatal(ErrorType.NotConfigured, say(`the domain controller requires TLS for this operation (${dcText(e)})`));
  }
  if (e instanceof InvalidCredentialsError) {
    return fatal(ErrorType.Unauthorized, say(`bind refused: ${bindFailureReason(e)} (LDAP 49)`), cause);
  }
  if (e instanceof InsufficientAccessError) {
    return fatal(ErrorType.Forbidden, say(`the bind account lacks the right (LDAP 50: ${dcText(e)})`));
  }
  if (e instanceof BusyError || e instanceof UnavailableError) {
    return transient(say(`the domain controller is busy or unavailable (LDAP ${e.code}: ${dcText(e)})`));
  }
  if (e instanceof ConstraintViolationError || e instanceof UnwillingToPerformError) {
    // Password policy (length, complexity, history) and name limits land here; the DC's text names the rule.
    const policy = /password|pwd/i.test(e.message);
    return fatal(
      ErrorType.InvalidInput,
      say(
        policy
          ? `the domain refused the password: ${dcText(e)}`
          : `the domain refused the change (LDAP ${e.code}: ${dcText(e)})`,
      ),
    );
  }
  if (e instanceof ResultCodeError) {
    // Time/admin limits are load; other result codes are answers a retry will not change.
    if (e.code === 3 || e.code === 11) return transient(say(`LDAP ${e.code}: ${dcText(e)}`));
    return fatal(ErrorType.PreconditionFailed, say(`LDAP ${e.code}: ${dcText(e)}`));
  }
  if ((typeof code === 'string' && isTransientNetworkCode(code)) || RETRYABLE_MESSAGES.some((r) => r.test(e.message))) {
    return transient(
      say(`the domain controller is unreachable (${typeof code === 'string' ? `${code}: ` : ''}${e.message})`),
    );
  }
  if (code === UNRESOLVABLE_HOST_CODE) {
    return fatal(
      ErrorType.NotConfigured,
      say(`the domain controller's host name does not resolve (${e.message}); check AD_URL`),
    );
  }
  return transient(say(e.message));
}
