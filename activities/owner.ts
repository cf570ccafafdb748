/**
 * Who an activity acts for. Runs started before ownership (the legacy graphs) send no owner: the binding is then the
 * workflow id the activity runs for, and nothing is adopted.
 */
import { Context } from '@temporalio/activity';
import type { OwnedInput, Owner } from '../contract/activities.js';
import { ErrorType, fatal } from '../contract/errors.js';

export function ownerOf(input: OwnedInput): Owner {
  if (input.owner) return input.owner;
  let binding: string | undefined;
  try {
    binding = Context.current().info.workflowExecution?.workflowId;
  } catch {
    binding = undefined;
  }
  if (!binding) throw fatal(ErrorType.InvalidInput, 'no owner given and not running for a workflow');
  return { binding, adopt: [] };
}
