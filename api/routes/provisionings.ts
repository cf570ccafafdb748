/** The /v1/provisionings routes of the DESIGN contract. */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { parseProvisionRequest } from '../../domain/parse-request.js';
import { ProvisionRequestSchema } from '../../domain/request.js';
import { requirePermission } from '../plugins/auth.js';
import { sendProblem } from '../problem.js';
import { AlreadyRunning, NotFound, NotRunning, type ProvisioningService } from '../provisioning-service.js';
import { Accepted, ApproveBody, IdParams, ListQuery, ProvisioningList, ProvisioningView } from '../schemas.js';
import { ProblemSchema } from '../problem.js';
import { powerShellParamsSchema, requestDocSchema } from '../openapi.js';
import { Type } from 'typebox';

export interface ProvisioningRoutesOptions {
  service: ProvisioningService;
  defaultSubscriptionId?: string;
}

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema };

export const provisioningRoutes: FastifyPluginAsync<ProvisioningRoutesOptions> = async (plain, opts) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const { service } = opts;

  /** Maps the service's outcomes to problem answers; anything else goes to the app's error handler. */
  const handle = async <T>(reply: FastifyReply, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof NotFound)
        return sendProblem(reply, { status: 404, detail: `no provisioning ${err.message}` }) as never;
      if (err instanceof NotRunning) return sendProblem(reply, { status: 409, detail: err.message }) as never;
      if (err instanceof AlreadyRunning) {
        return sendProblem(reply, { status: 409, detail: err.message, runningId: err.runningId }) as never;
      }
      throw err;
    }
  };

  app.post(
    '/v1/provisionings',
    {
      onRequest: requirePermission('start'),
      schema: {
        summary: 'Start a provisioning',
        description:
          'The nested request, or the AksGMSA PowerShell module parameter object (dashed keys) as it is. ' +
          'Credentials are never accepted here: they live in the worker configuration and Key Vault.',
        body: Type.Union([requestDocSchema(ProvisionRequestSchema), powerShellParamsSchema()]),
        response: { 202: Accepted, ...problems },
      },
      // The body is checked by parseProvisionRequest, which knows both forms and names fields as the user wrote them.
      validatorCompiler: () => () => true,
    },
    async (req, reply) => {
      const parsed = parseProvisionRequest(req.body, { subscriptionId: opts.defaultSubscriptionId });
      if (!parsed.ok)
        return sendProblem(reply, { status: 400, detail: 'the request is not valid', errors: parsed.errors });
      return handle(reply, async () => {
        const { id, runId } = await service.start(parsed.request);
        req.log.info({ id, by: req.principal?.name }, 'provisioning started');
        return reply
          .code(202)
          .header('location', `/v1/provisionings/${id}`)
          .send({ id, runId, status: 'RUNNING', links: service.links(id) });
      });
    },
  );

  app.get(
    '/v1/provisionings',
    {
      onRequest: requirePermission('read'),
      schema: {
        summary: 'List provisionings, newest first',
        querystring: ListQuery,
        response: { 200: ProvisioningList, ...problems },
      },
    },
    async (req) => ({
      items: await service.list({ status: req.query.status, cluster: req.query.cluster, limit: req.query.limit ?? 50 }),
    }),
  );

  app.get(
    '/v1/provisionings/:id',
    {
      onRequest: requirePermission('read'),
      schema: {
        summary: 'Status and progress of every step',
        params: IdParams,
        response: { 200: ProvisioningView, ...problems },
      },
    },
    async (req, reply) => handle(reply, () => service.get(req.params.id)),
  );

  app.post(
    '/v1/provisionings/:id/approve',
    {
      onRequest: requirePermission('approve'),
      // The body is optional: an approval without a comment is a bare POST.
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: {
        summary: 'Approve the AD step (ends the KDS wait)',
        params: IdParams,
        body: ApproveBody,
        response: { 202: Accepted, ...problems },
      },
    },
    async (req, reply) =>
      handle(reply, async () => {
        const id = req.params.id;
        await service.approve(id, req.principal!.name, req.body?.comment);
        req.log.info({ id, by: req.principal?.name }, 'AD step approved');
        return reply.code(202).send({ id, status: 'RUNNING', links: service.links(id) });
      }),
  );

  app.post(
    '/v1/provisionings/:id/cancel',
    {
      onRequest: requirePermission('cancel'),
      schema: { summary: 'Cancel a running provisioning', params: IdParams, response: { 202: Accepted, ...problems } },
    },
    async (req, reply) =>
      handle(reply, async () => {
        const id = req.params.id;
        await service.cancel(id);
        req.log.info({ id, by: req.principal?.name }, 'cancel requested');
        return reply.code(202).send({ id, status: 'CANCEL_REQUESTED', links: service.links(id) });
      }),
  );
};
