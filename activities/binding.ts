/**
 * readBinding: a day-2 operation's first step reads the binding's latest provisioning run through the worker's own
 * client (same namespace, same payload codec): its input is the request, its result the outputs. The request is
 * read at run time, not copied into the operation's input, so a Schedule's runs act on the binding as it is now.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { ErrorType, fatal } from '../contract/errors.js';
import type { BindingActivities, BindingInput, BindingRecord } from '../contract/operations.js';
import type { ProvisionRequest } from '../domain/request.js';

/** The provisioning's workflow type (workflows/definitions.ts, which activities may not import). */
const PROVISION_WORKFLOW = 'provisionGmsa';

export function createBindingActivities(): BindingActivities {
  async function readBinding(input: BindingInput & { requireSettled?: boolean }): Promise<BindingRecord> {
    const client = Context.current().client;
    const handle = client.workflow.getHandle(input.bindingId);
    let description;
    try {
      description = await handle.describe();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) {
        throw fatal(ErrorType.NotFound, `no provisioning ${input.bindingId}: there is no such binding`);
      }
      throw e;
    }
    if (description.type !== PROVISION_WORKFLOW) {
      throw fatal(ErrorType.NotFound, `${input.bindingId} is a ${description.type} workflow, not a provisioning`);
    }
    const status = description.status.name;
    if (input.requireSettled && status === 'RUNNING') {
      throw fatal(
        ErrorType.PreconditionFailed,
        `provisioning ${input.bindingId} is still running: let it finish, or cancel it, first`,
      );
    }
    const runHandle = client.workflow.getHandle(input.bindingId, description.runId);
    const history = await runHandle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const [request] = (await decodeArrayFromPayloads(
      client.workflow.options.loadedDataConverter,
      started?.input?.payloads,
    )) as [ProvisionRequest | undefined];
    if (!request) throw fatal(ErrorType.NotFound, `provisioning ${input.bindingId} has no recorded request`);
    const outputs =
      status === 'COMPLETED' ? ((await runHandle.result()) as Record<string, unknown> | undefined) : undefined;
    return { bindingId: input.bindingId, status, runId: description.runId, request, ...(outputs ? { outputs } : {}) };
  }
  return { readBinding };
}
