/**
 * The failure converter of every worker, client and workflow bundle of the product: a failure's message and stack
 * trace travel as a payload (`encodeCommonAttributes`), so the payload codec encrypts them and Temporal's history
 * holds "Encoded failure" instead of an error's words. Loaded by path (DataConverter.failureConverterPath): the
 * workflow bundle includes it, so it imports nothing but @temporalio/common.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
