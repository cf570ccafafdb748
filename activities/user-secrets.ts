/**
 * listUserSecrets: where a standard user's password lives. One password per user (DESIGN "A shared world"): every
 * binding of the same gMSA user holds a copy in its own vault, so a rotation must write them all. Temporal is the
 * record of them: each completed provisioning carries the user in its GmsaDomainUser search attribute and its
 * secret in its outputs. The canonical secret (the one the user's AD marker names) comes first, whether or not a
 * binding still records it; whether each one still exists is for the Key Vault side to say (stageUserPassword).
 */
import { Context } from '@temporalio/activity';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { ErrorType, fatal } from '../contract/errors.js';
import type { ListUserSecretsInput, RotationActivities, SecretRef, UserSecretsResult } from '../contract/rotation.js';
import { domainUserKey, SEARCH_ATTRIBUTES } from '../temporal/search-attributes.js';

/** The provisioning's workflow type (workflows/definitions.ts, which activities may not import). */
const PROVISION_WORKFLOW = 'provisionGmsa';

/** A list filter's string literal. */
const literal = (s: string) => `'${s.replace(/'/g, "\\'")}'`;

/** `https://vault/secrets/name` (with or without a version) as a SecretRef; undefined for anything else. */
export function secretRefOf(uri: string): SecretRef | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  const m = /^\/secrets\/([0-9A-Za-z-]{1,127})(\/[0-9a-fA-F]*)?\/?$/.exec(url.pathname);
  if (url.protocol !== 'https:' || !m) return undefined;
  return { vaultUri: `${url.origin}/`, secretName: m[1]! };
}

export const uriOfRef = (r: SecretRef) => `${r.vaultUri.replace(/\/+$/, '')}/secrets/${r.secretName}`;

/** The latest completed provisioning of each binding that names this user. */
async function completedRuns(client: Client, key: string): Promise<WorkflowExecutionInfo[]> {
  const query =
    `WorkflowType = '${PROVISION_WORKFLOW}' AND ExecutionStatus = 'Completed' AND ` +
    `${SEARCH_ATTRIBUTES.domainUser.name} = ${literal(key)}`;
  const latest = new Map<string, WorkflowExecutionInfo>();
  for await (const w of client.workflow.list({ query })) {
    if (w.typedSearchAttributes.get(SEARCH_ATTRIBUTES.domainUser) !== key) continue;
    const seen = latest.get(w.workflowId);
    if (!seen || (w.closeTime?.getTime() ?? 0) > (seen.closeTime?.getTime() ?? 0)) latest.set(w.workflowId, w);
  }
  return [...latest.values()].sort((a, b) => a.workflowId.localeCompare(b.workflowId));
}

/** The binding's secret, when its current run still names this user (a rerun may have moved it to another). */
async function recordedSecret(client: Client, run: WorkflowExecutionInfo, key: string): Promise<string | undefined> {
  const now = await client.workflow.getHandle(run.workflowId).describe();
  if (now.typedSearchAttributes.get(SEARCH_ATTRIBUTES.domainUser) !== key) return undefined;
  const outputs = (await client.workflow.getHandle(run.workflowId, run.runId).result()) as
    { secretUri?: unknown } | undefined;
  return typeof outputs?.secretUri === 'string' ? outputs.secretUri : undefined;
}

export function createUserSecretsActivity(): Pick<RotationActivities, 'listUserSecrets'> {
  async function listUserSecrets(input: ListUserSecretsInput): Promise<UserSecretsResult> {
    const client = Context.current().client;
    const key = domainUserKey(input.domainFqdn, input.user);
    const found: { uri: string; binding?: string }[] = [];
    if (input.canonicalSecretUri) found.push({ uri: input.canonicalSecretUri });
    found.push({ uri: input.ownSecretUri, binding: input.bindingId });
    for (const run of await completedRuns(client, key)) {
      const uri = await recordedSecret(client, run, key);
      if (uri) found.push({ uri, binding: run.workflowId });
    }
    const secrets: SecretRef[] = [];
    const seen = new Set<string>();
    const bindings = new Set<string>();
    for (const f of found) {
      const ref = secretRefOf(f.uri);
      if (!ref) {
        throw fatal(
          ErrorType.InvalidInput,
          `${f.binding ? `binding ${f.binding} records` : "the user's AD marker names"} ${f.uri}, which is not a Key Vault secret URI`,
        );
      }
      if (f.binding) bindings.add(f.binding);
      const id = uriOfRef(ref).toLowerCase();
      if (seen.has(id)) continue;
      seen.add(id);
      secrets.push(ref);
    }
    return { secrets, bindings: [...bindings].sort() };
  }
  return { listUserSecrets };
}
