/** How the worker reaches Active Directory; built by worker/config/active-directory.ts from AD_* settings. */
export interface ActiveDirectoryConfig {
  /** ldaps://host[:636], or ldap://host[:389] which is always upgraded with StartTLS (never used in clear). */
  url: string;
  /** A UPN (admin@contoso.com), DOMAIN\admin or a DN; simple bind over TLS is the one method ldapts and AD share. */
  bindUser: string;
  bindPassword: string;
  /** PEM file of the CA that issued the DC's certificate; the system trust store when absent. */
  caFile?: string;
  /** Name to verify the DC's certificate against when the URL holds an IP or an alias. */
  serverName?: string;
  /** Default container for standard users, relative to the domain (CN=Users when absent). */
  userContainer?: string;
  /** Per-operation and connect timeouts in ms. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Connects to the DC in flight at once from one worker (AD_MAX_CONNECTING; ldap-session.ts says why). */
  maxConnecting?: number;
}
