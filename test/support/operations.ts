/**
 * Starting a day-2 operation straight through Temporal, as the API does (its id, type and task queue from the
 * contract), for suites that test an operation's effect before or besides its route; and reading its progress.
 */
import type { Client } from '@temporalio/client';
import { OPERATION_WORKFLOWS, operationId, type BindingInput, type OperationKind } from '../../contract/operations.js';
import { operationProgressQuery } from '../../workflows/definitions.js';

export interface OperationRun<O = unknown> {
  id: string;
  result: O;
  progress: Awaited<ReturnType<typeof readProgress>>;
}

/** Runs `kind` for its binding to the end; rejects with the workflow's failure when it fails. */
export async function runOperation<O = unknown>(
  client: Client,
  taskQueue: string,
  kind: OperationKind,
  input: BindingInput & Record<string, unknown>,
): Promise<OperationRun<O>> {
  const id = operationId(input.bindingId, kind);
  const handle = await client.workflow.start(OPERATION_WORKFLOWS[kind], {
    workflowId: id,
    taskQueue,
    args: [input],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  const result = (await handle.result()) as O;
  return { id, result, progress: await readProgress(client, id) };
}

export function readProgress(client: Client, id: string) {
  return client.workflow.getHandle(id).query(operationProgressQuery);
}
