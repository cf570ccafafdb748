/**
 * The operations' Schedules (activities/schedules.ts) on the real Temporal dev server: created as asked (repair,
 * rotation when set) with the operation's workflow, id, input, task queue, overlap SKIP and search attributes;
 * unchanged on a rerun; updated when the interval differs; removed when no longer asked for; all gone on delete.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { createScheduleActivities } from '../../activities/schedules.js';
import { ErrorType } from '../../contract/errors.js';
import type { ScheduleOperationsInput } from '../../contract/lifecycle.js';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';
import { ApplicationFailure, type TypedSearchAttributes } from '@temporalio/common';
import { devServerEnv, uniqueQueue } from '../support/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await devServerEnv();
});
after(async () => {
  await env?.teardown();
});

describe('ensureOperationSchedules / deleteOperationSchedules', () => {
  test('create, keep, update, remove, delete', async () => {
    const taskQueue = uniqueQueue('sched');
    const mock = new MockActivityEnvironment({ taskQueue }, { client: env.client });
    const { ensureOperationSchedules, deleteOperationSchedules } = createScheduleActivities();
    const ensure = (i: ScheduleOperationsInput) =>
      mock.run(ensureOperationSchedules, i) as ReturnType<typeof ensureOperationSchedules>;
    const bindingId = `gmsa-aks-sched-${Date.now().toString(16).slice(-12).padStart(12, '0')}`;
    const repair = `${bindingId}.repair`;
    const rotate = `${bindingId}.rotate`;
    const base = { bindingId, cluster: 'aks1', credentialSpec: 'webapp01' };

    const first = await ensure({ ...base, repairEvery: '6h', rotatePasswordEvery: '30d' });
    assert.deepEqual(first, { schedules: [repair, rotate], changed: [repair, rotate], removed: [] });
    const d = await env.client.schedule.getHandle(repair).describe();
    assert.equal(d.spec.intervals?.[0]?.every, 6 * 3_600_000);
    assert.equal(d.action.workflowType, 'repairGmsa');
    assert.equal(d.action.workflowId, repair);
    assert.equal(d.action.taskQueue, taskQueue);
    assert.deepEqual(d.action.args, [{ bindingId }]);
    assert.equal(d.policies.overlap, ScheduleOverlapPolicy.SKIP);
    const attrs = d.action.typedSearchAttributes as TypedSearchAttributes;
    assert.equal(attrs.get(SEARCH_ATTRIBUTES.binding), bindingId);
    assert.equal(attrs.get(SEARCH_ATTRIBUTES.spec), 'webapp01');
    const r = await env.client.schedule.getHandle(rotate).describe();
    assert.equal(r.action.workflowType, 'rotateGmsaUserPassword');
    assert.equal(r.spec.intervals?.[0]?.every, 30 * 86_400_000);

    assert.deepEqual(await ensure({ ...base, repairEvery: '6h', rotatePasswordEvery: '30d' }), {
      schedules: [repair, rotate],
      changed: [],
      removed: [],
    });

    assert.deepEqual(await ensure({ ...base, repairEvery: '30m' }), {
      schedules: [repair],
      changed: [repair],
      removed: [rotate],
    });
    assert.equal((await env.client.schedule.getHandle(repair).describe()).spec.intervals?.[0]?.every, 30 * 60_000);
    await assert.rejects(env.client.schedule.getHandle(rotate).describe(), ScheduleNotFoundError);

    await assert.rejects(ensure({ ...base, repairEvery: '6 hours' }), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure && e.nonRetryable && e.type === ErrorType.InvalidInput);
      assert.match(e.message, /options\.repairEvery: "6 hours" is not a whole number/);
      return true;
    });

    assert.deepEqual(await mock.run(deleteOperationSchedules, { bindingId }), { deleted: [repair] });
    assert.deepEqual(await mock.run(deleteOperationSchedules, { bindingId }), { deleted: [] }, 'a rerun: nothing');
    await assert.rejects(env.client.schedule.getHandle(repair).describe(), ScheduleNotFoundError);
  });
});
