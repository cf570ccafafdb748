/** TypeBox schemas of the API's answers and parameters: validation, serialization and the OpenAPI document. */
import { Type } from 'typebox';
import { PROVISIONING_ID_PATTERN } from '../domain/workflow-id.js';
import { STEP_NAMES } from '../workflows/definitions.js';
import { LIST_STATUSES } from './provisioning-service.js';

const Literals = <T extends string[]>(values: readonly [...T]) => Type.Enum(values);

export const IdParams = Type.Object(
  { id: Type.String({ pattern: PROVISIONING_ID_PATTERN, description: 'the provisioning id returned by POST' }) },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    status: Type.Optional(Literals(LIST_STATUSES)),
    cluster: Type.Optional(Type.String({ pattern: '^[a-zA-Z0-9][-_a-zA-Z0-9]{0,62}$', description: 'cluster name' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);

export const ApproveBody = Type.Object(
  { comment: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

const Links = Type.Object({ self: Type.String(), temporalUi: Type.String() });

const Status = Literals([
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'TERMINATED',
  'TIMED_OUT',
  'CONTINUED_AS_NEW',
  'UNKNOWN',
  'UNSPECIFIED',
] as const);

export const Accepted = Type.Object({
  id: Type.String(),
  runId: Type.Optional(Type.String()),
  status: Type.String(),
  links: Links,
});

const StepError = Type.Object({
  message: Type.String(),
  type: Type.Optional(Type.String()),
  retryable: Type.Boolean(),
  at: Type.String(),
});

const Step = Type.Object({
  name: Literals(STEP_NAMES),
  status: Literals(['pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped'] as const),
  attempts: Type.Integer(),
  startedAt: Type.Optional(Type.String()),
  endedAt: Type.Optional(Type.String()),
  waitUntil: Type.Optional(Type.String()),
  lastError: Type.Optional(StepError),
  summary: Type.Optional(Type.String()),
});

const Outputs = Type.Object({
  clusterId: Type.String(),
  managedIdentityId: Type.Optional(Type.String()),
  keyVaultId: Type.String(),
  secretUri: Type.String(),
  domainUserDn: Type.String(),
  gmsaDn: Type.String(),
  credentialSpecName: Type.String(),
  hostPrincipalId: Type.String(),
  kdsRootKeyId: Type.String(),
});

export const ProvisioningView = Type.Object({
  id: Type.String(),
  runId: Type.String(),
  status: Status,
  phase: Type.String(),
  startedAt: Type.Optional(Type.String()),
  closedAt: Type.Optional(Type.String()),
  cluster: Type.Optional(Type.String()),
  credentialSpecName: Type.Optional(Type.String()),
  steps: Type.Array(Step),
  approval: Type.Optional(Type.Object({ by: Type.String(), comment: Type.Optional(Type.String()), at: Type.String() })),
  rollback: Type.Optional(
    Type.Object({
      status: Literals(['running', 'done', 'failed'] as const),
      removed: Type.Array(Type.String()),
      failed: Type.Array(Type.String()),
    }),
  ),
  outputs: Type.Optional(Outputs),
  error: Type.Optional(Type.String()),
  links: Links,
});

export const ProvisioningList = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      runId: Type.String(),
      status: Status,
      startedAt: Type.String(),
      closedAt: Type.Optional(Type.String()),
      cluster: Type.Optional(Type.String()),
      credentialSpecName: Type.Optional(Type.String()),
      links: Links,
    }),
  ),
});
