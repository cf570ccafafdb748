/** The help text: commands, options, where the URL and token come from, exit codes. */
import { LIST_STATUSES } from '../api/schemas.js';
import { OPERATION_KINDS } from '../contract/operations.js';
import { DEFAULT_API_URL } from './config.js';

export const USAGE = `aks-gmsa: start, follow, approve and cancel gMSA provisionings, and run their day-2 operations,
through the aks-gmsa REST API

Usage:
  aks-gmsa start <file.json | -> [--watch] [--json]
      Start a provisioning. The file is the nested request or an AksGMSA PowerShell params file as it is;
      - reads it from stdin. --watch follows it like watch.
  aks-gmsa status <id> [--json]
      Status, phase, every step, and the outputs once done.
  aks-gmsa watch <id> [--interval <seconds>]
      Follow the steps until the provisioning ends: redrawn in place on a terminal, a line per change otherwise.
      Exits 0 when it COMPLETED, 1 when it ended otherwise (FAILED, CANCELED, ...).
  aks-gmsa approve <id> [--comment <text>]
      Approve the AD step (ends the wait for the KDS root key).
  aks-gmsa cancel <id>
      Cancel a running provisioning.
  aks-gmsa list [--status <S>] [--cluster <name>] [--limit <n>] [--all] [--json]
      Provisionings, newest first. S: ${LIST_STATUSES.join(', ')}. --all: every page (of --limit, default 50).

Day 2 (<id> is the provisioning id; each operation prints its operation id, --watch follows it like watch):
  aks-gmsa deprovision <id> [--disable-gmsa] [--watch] [--json]
      Remove what the binding owns (never what another binding still uses, never the KDS root key);
      --disable-gmsa also turns gMSA off on the cluster when no credential spec is left on it.
  aks-gmsa rotate <id> [--watch] [--json]
      A new password for the standard user, in AD and in every vault of that user, then the chain check.
  aks-gmsa repair <id> [--watch] [--json]
      The chain check, then converge what drifted (identity on every Windows pool, Key Vault grant, spec, RBAC).
  aks-gmsa validate <id> [--mode chain|pod] [--timeout <seconds>] [--watch] [--json]
      chain (default): every link, no Windows node needed; pod: the checks in a Windows pod using the spec.
  aks-gmsa operation <operationId> [--watch [--interval <seconds>]] [--json]
      An operation's status and steps, like status (scheduled runs too).
  aks-gmsa operations [--binding <id>] [--kind <K>] [--status <S>] [--limit <n>] [--all] [--json]
      Operations, newest first. K: ${OPERATION_KINDS.join(', ')}. --all: every page.
  aks-gmsa access <id> [--json]
      Who can read the secret: every node pool and principal, whether it should, and what is wrong.
  aks-gmsa sample <id> [--json]
      A Deployment YAML that uses the credential spec (pipe it to kubectl apply -f -).
  aks-gmsa help

Options:
  --url <url>       the API; default GMSA_API_URL, else ${DEFAULT_API_URL}
  --token <token>   bearer token; default GMSA_API_TOKEN. Prefer the variable: other users can see arguments.
  --json            the API's answer as JSON (start, status, list and the day-2 commands)
  -h, --help        this text

Roles: start, cancel, deprovision, rotate, repair and validate need an operator token, approve an approver
token, the others any token.

Lab default: with neither --token nor GMSA_API_TOKEN, and a lab started by \`npm start\` (its .lab/lab.env at the
project root), the CLI reads GMSA_API_URL and GMSA_API_TOKENS from .lab/lab.env and uses the token of the role each
command needs. Tokens are never printed.

Exit codes: 0 done; 1 the API refused or failed, could not be reached, or a watched run did not complete;
2 a usage error or a request the API rejected as invalid (400), with every field error listed.
`;
