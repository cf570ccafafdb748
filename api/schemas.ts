/**
 * The API's contract, what the server and the CLI share: TypeBox schemas of its answers and parameters
 * (validation, serialization, the OpenAPI document) and the types derived from them; the one list of statuses.
 * * The roles and the GMSA_API_TOKENS parser live in config/api-tokens.ts.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { PROVISIONING_ID_PATTERN } from '../domain/workflow-id.js';
import { OPERATION_ID_PATTERN, OPERATION_KINDS, type SampleWorkloadResult } from '../contract/operations.js';
import { STEP_NAMES, type Progress, type ProvisionOutputs, type StepProgress } from '../workflows/definitions.js';

const Literals = <T extends string[]>(values: readonly [...T]) => Type.Enum(values);

/** A run's status as the API spells it: Temporal's names, with CANCELED as DESIGN writes it (the SDK: CANCELLED). */
export const WORKFLOW_STATUSES = [
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'TERMINATED',
  'TIMED_OUT',
  'CONTINUED_AS_NEW',
  'PAUSED',
  'UNKNOWN',
  'UNSPECIFIED',
] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

/** The statuses the list filters by (those Temporal's visibility can query). */
export const LIST_STATUSES = [
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'TERMINATED',
  'TIMED_OUT',
] as const satisfies readonly WorkflowStatus[];
export type ListStatus = (typeof LIST_STATUSES)[number];

export const STEP_STATUSES = ['pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped'] as const;

export const IdParams = Type.Object(
  { id: Type.String({ pattern: PROVISIONING_ID_PATTERN, description: 'the provisioning id returned by POST' }) },
  { additionalProperties: false },
);

/** A list's page: its size, and where it starts (the previous answer's `nextPageToken`). */
const pageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  pageToken: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: "the previous page's nextPageToken: the runs that started before that page's last one",
    }),
  ),
};
const nextPageToken = Type.Optional(
  Type.String({ description: 'present when there are more runs: pass it as pageToken for the next page' }),
);

export const ListQuery = Type.Object(
  {
    status: Type.Optional(Literals(LIST_STATUSES)),
    cluster: Type.Optional(Type.String({ pattern: '^[a-zA-Z0-9][-_a-zA-Z0-9]{0,62}$', description: 'cluster name' })),
    ...pageQuery,
  },
  { additionalProperties: false },
);

export const ApproveBody = Type.Object(
  { comment: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

const Links = Type.Object({ self: Type.String(), temporalUi: Type.String() });
/** An operation's links: its own, the Temporal UI's, and its binding's. */
const OperationLinks = Type.Object({ self: Type.String(), temporalUi: Type.String(), binding: Type.String() });

const Status = Literals(WORKFLOW_STATUSES);

export const Accepted = Type.Object({
  id: Type.String(),
  runId: Type.Optional(Type.String()),
  status: Type.String(),
  links: Links,
});
export type Accepted = Static<typeof Accepted>;

/** RFC 9457 problem details: every error the API returns, with field-level detail for 400. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    runningId: Type.Optional(Type.String()),
  },
  { $id: 'Problem' },
);
export type Problem = Static<typeof Problem>;

const StepError = Type.Object({
  message: Type.String(),
  type: Type.Optional(Type.String()),
  retryable: Type.Boolean(),
  at: Type.String(),
});

const stepSchema = <N extends TSchema>(name: N) =>
  Type.Object({
    name,
    status: Literals(STEP_STATUSES),
    attempts: Type.Integer({ description: 'attempts started so far (0 for a step that is no activity)' }),
    startedAt: Type.Optional(Type.String()),
    endedAt: Type.Optional(Type.String()),
    waitUntil: Type.Optional(Type.String({ description: 'while waiting: when the next attempt or the wait is due' })),
    lastError: Type.Optional(StepError),
    summary: Type.Optional(Type.String()),
  });
const Step = stepSchema(Literals(STEP_NAMES));
export type Step = Static<typeof Step>;
/** A day-2 operation's step: the same, named by the operation's own graph. */
const OperationStep = stepSchema(Type.String());
export type OperationStep = Static<typeof OperationStep>;

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

const Approval = Type.Object({ by: Type.String(), comment: Type.Optional(Type.String()), at: Type.String() });
const Rollback = Type.Object({
  status: Literals(['running', 'done', 'failed'] as const),
  removed: Type.Array(Type.String()),
  failed: Type.Array(Type.String()),
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
  approval: Type.Optional(Approval),
  rollback: Type.Optional(Rollback),
  outputs: Type.Optional(Outputs),
  error: Type.Optional(Type.String()),
  links: Links,
});
export type ProvisioningView = Static<typeof ProvisioningView>;

export const ProvisioningSummary = Type.Object({
  id: Type.String(),
  runId: Type.String(),
  status: Status,
  startedAt: Type.String(),
  closedAt: Type.Optional(Type.String()),
  cluster: Type.Optional(Type.String()),
  credentialSpecName: Type.Optional(Type.String()),
  links: Links,
});
export type ProvisioningSummary = Static<typeof ProvisioningSummary>;

/** Newest first by start time; every run exactly once across pages, also while runs start between reads. */
export const ProvisioningList = Type.Object({ items: Type.Array(ProvisioningSummary), nextPageToken });
export type ProvisioningList = Static<typeof ProvisioningList>;

// ---- day-2 operations ------------------------------------------------------------------------------------------

export const OperationIdParams = Type.Object(
  {
    operationId: Type.String({
      pattern: OPERATION_ID_PATTERN,
      description: 'the operation id POST returned (`<provisioning id>.<kind>`), or a scheduled run of it',
    }),
  },
  { additionalProperties: false },
);

export const DeprovisionBody = Type.Object(
  {
    disableGmsa: Type.Optional(
      Type.Boolean({ description: 'also turn gMSA off on the cluster, when no other credential spec is left on it' }),
    ),
  },
  { additionalProperties: false },
);
export const ValidateBody = Type.Object(
  {
    mode: Literals(['chain', 'pod'] as const),
    timeoutSeconds: Type.Optional(
      Type.Integer({ minimum: 10, maximum: 3600, description: 'pod mode: how long the pod may take (default 300)' }),
    ),
  },
  { additionalProperties: false },
);
/** rotate-password and repair take nothing: an empty body or `{}`. */
export const EmptyBody = Type.Object({}, { additionalProperties: false });

export const OperationAccepted = Type.Object({
  operationId: Type.String(),
  runId: Type.Optional(Type.String()),
  status: Type.String(),
  links: OperationLinks,
});
export type OperationAccepted = Static<typeof OperationAccepted>;

const OperationKind = Literals(OPERATION_KINDS);

export const OperationView = Type.Object({
  id: Type.String(),
  runId: Type.String(),
  kind: OperationKind,
  bindingId: Type.String(),
  /** Started by the binding's Temporal Schedule (repairEvery, rotatePasswordEvery), not by a POST. */
  scheduled: Type.Boolean(),
  status: Status,
  phase: Type.String(),
  startedAt: Type.Optional(Type.String()),
  closedAt: Type.Optional(Type.String()),
  cluster: Type.Optional(Type.String()),
  credentialSpecName: Type.Optional(Type.String()),
  steps: Type.Array(OperationStep),
  outputs: Type.Optional(Type.Object({}, { additionalProperties: true, description: "the operation's own result" })),
  error: Type.Optional(Type.String()),
  links: OperationLinks,
});
export type OperationView = Static<typeof OperationView>;

export const OperationSummary = Type.Object({
  id: Type.String(),
  runId: Type.String(),
  kind: OperationKind,
  bindingId: Type.String(),
  scheduled: Type.Boolean(),
  status: Status,
  startedAt: Type.String(),
  closedAt: Type.Optional(Type.String()),
  links: OperationLinks,
});
export type OperationSummary = Static<typeof OperationSummary>;

export const OperationList = Type.Object({ items: Type.Array(OperationSummary), nextPageToken });
export type OperationList = Static<typeof OperationList>;

export const OperationListQuery = Type.Object(
  {
    binding: Type.Optional(Type.String({ pattern: PROVISIONING_ID_PATTERN, description: 'the provisioning id' })),
    kind: Type.Optional(OperationKind),
    status: Type.Optional(Literals(LIST_STATUSES)),
    ...pageQuery,
  },
  { additionalProperties: false },
);

/** The access report (workflows/access.ts's result), served as the workflow answers it. */
export const AccessReport = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'every node pool and principal with read on the secret, and whether it should have it',
  },
);

export const SampleWorkload = Type.Object({
  yaml: Type.String({ description: 'a Deployment that uses the credential spec' }),
  image: Type.String(),
  nodeSelector: Type.Record(Type.String(), Type.String()),
});

// The workflow's progress model goes on the wire as it is: a field it gains or changes that the schema does not
// describe fails the type check here, rather than being dropped by serialization at run time.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type _WireMatchesProgress = [
  Assert<Same<StepProgress, Step>>,
  Assert<Same<StepProgress<string>, OperationStep>>,
  Assert<Same<SampleWorkloadResult, Static<typeof SampleWorkload>>>,
  Assert<Same<NonNullable<Progress['approval']>, Static<typeof Approval>>>,
  Assert<Same<NonNullable<Progress['rollback']>, Static<typeof Rollback>>>,
  Assert<Same<ProvisionOutputs, Static<typeof Outputs>>>,
];
