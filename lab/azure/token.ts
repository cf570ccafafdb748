/**
 * A Microsoft Entra stand-in, enough for @azure/identity's ClientSecretCredential (authorityHost = the fake,
 * instance discovery off): the OpenID configuration document and the client-credentials token endpoint. Tokens
 * are JWTs signed with a key only this process knows, so ARM and the vault data plane can check them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { armError, json, type Reply, type Request } from './arm-http.js';
import type { World } from './world.js';

const signingKey = randomBytes(32);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export interface Claims {
  aud: string;
  iss: string;
  oid: string;
  tid: string;
  appid: string;
  iat: number;
  exp: number;
}

export function signToken(claims: Claims): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', signingKey).update(head).digest('base64url')}`;
}

/** The claims of a bearer token this fake issued for `audience`, or undefined. */
export function verifyToken(authorization: string | undefined, audiences: string[]): Claims | undefined {
  const m = /^Bearer (.+)$/i.exec(authorization ?? '');
  const parts = m?.[1]?.split('.');
  if (!parts || parts.length !== 3) return undefined;
  const expected = createHmac('sha256', signingKey).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2] as string, 'base64url');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
  const claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as Claims;
  if (claims.exp * 1000 < Date.now()) return undefined;
  const aud = claims.aud.replace(/\/$/, '').toLowerCase();
  return audiences.some((a) => a.replace(/\/$/, '').toLowerCase() === aud) ? claims : undefined;
}

/** `/{tenant}/v2.0/.well-known/openid-configuration` and `/{tenant}/oauth2/v2.0/token`. */
export function tokenRoutes(world: World, req: Request): Reply | undefined {
  const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token)$/i.exec(req.path);
  if (!m) return undefined;
  const tenant = m[1] as string;
  const base = `${req.origin}/${tenant}`;
  if (tenant !== world.tenantId && tenant !== 'organizations' && tenant !== 'common') {
    return json(400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${tenant}' not found.` });
  }
  if (/openid-configuration$/i.test(m[2] as string)) {
    return json(200, {
      issuer: `${base}/v2.0`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      tenant_region_scope: 'EU',
    });
  }
  if (req.method !== 'POST') return armError(405, 'MethodNotAllowed', 'POST only');
  const form = (req.body ?? {}) as Record<string, string>;
  if (form.grant_type !== 'client_credentials') {
    return json(400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: only client_credentials' });
  }
  // Any app registration of the directory (the lab's client, or the limited one ARM authorization tests use).
  const c = world.clients.find((x) => x.clientId === form.client_id);
  const secretOk = c !== undefined && form.client_secret !== undefined && form.client_secret === c.clientSecret;
  if (!c || !secretOk) {
    return json(401, {
      error: 'invalid_client',
      error_description: `AADSTS7000215: Invalid client secret provided for app '${form.client_id}'.`,
    });
  }
  const scope = (form.scope ?? '').split(' ').find((s) => s.endsWith('/.default'));
  if (!scope)
    return json(400, { error: 'invalid_scope', error_description: 'AADSTS1002012: scope must end in /.default' });
  const now = Math.floor(Date.now() / 1000);
  const token = signToken({
    aud: scope.slice(0, -'/.default'.length),
    iss: `${base}/v2.0`,
    oid: c.objectId,
    tid: world.tenantId,
    appid: c.clientId,
    iat: now,
    exp: now + 3600,
  });
  return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
}
