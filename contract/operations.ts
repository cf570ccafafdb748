/**
 * A binding's day-2 operations (DESIGN "Day 2"): each its own workflow with a deterministic id `<binding>.<suffix>`,
 * so one of a kind runs at a time per binding, listed and read like a provisioning. Their input names only the
 * binding: the first step reads the binding's latest provisioning (request and outputs) from Temporal, so a
 * Schedule's runs always act on what the binding is now. Names and ids live here, below the workflows that run them,
 * the activities that schedule them and the API that starts them.
 */
import type { ProvisionRequest } from '../domain/request.js';

/** The operations the API starts (`POST /v1/provisionings/{id}/<kind>`). */
export const OPERATION_KINDS = ['deprovision', 'rotate-password', 'repair', 'validate'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** Workflow type of each operation. */
export const OPERATION_WORKFLOWS = {
  deprovision: 'deprovisionGmsa',
  'rotate-password': 'rotateGmsaUserPassword',
  repair: 'repairGmsa',
  validate: 'validateGmsa',
} as const satisfies Record<OperationKind, string>;

/** The id suffix of each operation (DESIGN: `<id>.deprovision`, `<id>.rotate`, `<id>.repair`, `<id>.validate`). */
export const OPERATION_SUFFIX = {
  deprovision: 'deprovision',
  'rotate-password': 'rotate',
  repair: 'repair',
  validate: 'validate',
} as const satisfies Record<OperationKind, string>;

export const operationId = (bindingId: string, kind: OperationKind): string => `${bindingId}.${OPERATION_SUFFIX[kind]}`;

/**
 * An operation id: `<binding>.<suffix>`, or a run a Schedule started, to which Temporal appends `-<start time>`
 * (e.g. `….repair-2026-12-02T06:00:00Z`).
 */
export const OPERATION_ID_PATTERN =
  '^gmsa-[a-z0-9_-]{1,63}-[a-z0-9-]{1,63}-[0-9a-f]{12}\\.(deprovision|rotate|repair|validate)(-[0-9TZ:.-]{1,40})?$';

/** The binding and kind of an operation id; undefined for anything else. */
export function parseOperationId(
  id: string,
): { bindingId: string; kind: OperationKind; scheduled: boolean } | undefined {
  const m = new RegExp(OPERATION_ID_PATTERN).exec(id);
  if (!m) return undefined;
  const suffix = m[1]!;
  const kind = (Object.keys(OPERATION_SUFFIX) as OperationKind[]).find((k) => OPERATION_SUFFIX[k] === suffix)!;
  // A provisioning id holds no dot: the binding is what comes before the first.
  return { bindingId: id.slice(0, id.indexOf('.')), kind, scheduled: m[2] !== undefined };
}

/** The operations a Temporal Schedule runs per binding (options.repairEvery, options.rotatePasswordEvery). */
export const SCHEDULED_KINDS = ['repair', 'rotate-password'] as const satisfies readonly OperationKind[];
export type ScheduledKind = (typeof SCHEDULED_KINDS)[number];
/** The Schedule's id: the operation's id (its runs get `-<time>` appended by Temporal). */
export const scheduleId = (bindingId: string, kind: ScheduledKind): string => operationId(bindingId, kind);
/** Default interval of the repair Schedule (DESIGN: 6 h). */
export const DEFAULT_REPAIR_EVERY = '6h';

/**
 * Answers served at once (GET), by a short workflow whose result is the answer: it runs on the worker, which holds
 * the Azure credentials (the API holds none). Id `<binding>.<suffix>`; concurrent reads share the run.
 */
export const INSPECTION_WORKFLOWS = { access: 'gmsaAccess', sampleWorkload: 'gmsaSampleWorkload' } as const;
export const INSPECTION_SUFFIX = { access: 'access', sampleWorkload: 'sample' } as const;
export const inspectionId = (bindingId: string, kind: keyof typeof INSPECTION_WORKFLOWS): string =>
  `${bindingId}.${INSPECTION_SUFFIX[kind]}`;

// ---- inputs ----------------------------------------------------------------------------------------------------

/** Every operation names its binding: the provisioning id. */
export interface BindingInput {
  bindingId: string;
}
export interface DeprovisionInput extends BindingInput {
  /** Also turn gMSA off on the cluster, when no other credential spec is left on it. */
  disableGmsa?: boolean;
}
export type RotatePasswordInput = BindingInput;
export type RepairInput = BindingInput;
export interface ValidateInput extends BindingInput {
  mode: 'chain' | 'pod';
  /** pod mode: how long the pod may take to be scheduled and run its checks (default 300). */
  timeoutSeconds?: number;
}
export type AccessInput = BindingInput;
export type SampleWorkloadInput = BindingInput;

// ---- reading the binding ---------------------------------------------------------------------------------------

/** What readBinding finds: the binding's latest provisioning run. */
export interface BindingRecord {
  bindingId: string;
  /** Temporal's status of that run, as the SDK names it (RUNNING, COMPLETED, FAILED, …). */
  status: string;
  runId: string;
  /** The run's input: the validated request (nothing secret). */
  request: ProvisionRequest;
  /** The run's result when it completed (the provisioning's outputs, workflows/definitions.ts). */
  outputs?: Record<string, unknown>;
}

export interface BindingActivities {
  /**
   * The binding's latest provisioning run, read with the worker's own client (same namespace and codec). NotFound
   * when there is none; with `requireSettled`, PreconditionFailed while it still runs (finish or cancel it first).
   */
  readBinding(input: BindingInput & { requireSettled?: boolean }): Promise<BindingRecord>;
}

// ---- answers of the inspections ------------------------------------------------------------------------------

/** gmsaSampleWorkload's result (Get-GMSASampleApplicationYAML parity): the API serves `yaml` as it is. */
export interface SampleWorkloadResult {
  /** A Deployment that uses the credential spec, for the binding's Windows pools. */
  yaml: string;
  image: string;
  nodeSelector: Record<string, string>;
}
