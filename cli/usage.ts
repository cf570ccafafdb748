/** The help text: commands, options, where the URL and token come from, exit codes. */
import { LIST_STATUSES } from '../api/schemas.js';
import { DEFAULT_API_URL } from './config.js';

export const USAGE = `aks-gmsa: start, follow, approve and cancel gMSA provisionings through the aks-gmsa REST API

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
  aks-gmsa list [--status <S>] [--cluster <name>] [--limit <n>] [--json]
      Provisionings, newest first. S: ${LIST_STATUSES.join(', ')}.
  aks-gmsa help

Options:
  --url <url>       the API; default GMSA_API_URL, else ${DEFAULT_API_URL}
  --token <token>   bearer token; default GMSA_API_TOKEN. Prefer the variable: other users can see arguments.
  --json            the API's answer as JSON (start, status, list)
  -h, --help        this text

Roles: start and cancel need an operator token, approve an approver token, the others any token.

Lab default: with neither --token nor GMSA_API_TOKEN, and a lab started by \`npm start\` (its .lab/lab.env at the
project root), the CLI reads GMSA_API_URL and GMSA_API_TOKENS from .lab/lab.env and uses the token of the role each
command needs. Tokens are never printed.

Exit codes: 0 done; 1 the API refused or failed, could not be reached, or a watched provisioning did not complete;
2 a usage error or a request the API rejected as invalid (400), with every field error listed.
`;
