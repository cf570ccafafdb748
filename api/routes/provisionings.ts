/**
 * The /v1/provisionings routes of the DESIGN contract. Errors are thrown, typed (api/errors.ts), and answered by
 * the app's one error handler.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseProvisionRequest } from '../../domain/parse-request.js';
import { ProvisionRequestSchema } from '../../domain/request.js';
import { InvalidRequest } from '../errors.js';
import { powerShellParamsSchema, requestDocSchema } from '../openapi.js';
import { requirePermission } from '../plugins/auth.js';
import { keptJson } from './kept-json.js';
import type { ProvisioningService } from '../provisioning-service.js';
import { Accepted, ApproveBody, IdParams, ListQuery, Problem, ProvisioningList, ProvisioningView } from '../schemas.js';

export interface ProvisioningRoutesOptions {
  service: ProvisioningService;
  defaultSubscriptionId?: string;
}

const problems = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 429: Problem };

export const provisioningRoutes: FastifyPluginAsync<ProvisioningRoutesOptions> = async (plain, opts) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const { service } = opts;
  const sendList = keptJson();
  const sendView = keptJson();

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
      if (!parsed.ok) throw new InvalidRequest('the request is not valid', parsed.errors);
      const { id, runId } = await service.start(parsed.request);
      req.log.info({ id, by: req.principal?.name }, 'provisioning started');
      return reply
        .code(202)
        .header('location', `/v1/provisionings/${id}`)
        .send({ id, runId, status: 'RUNNING', links: service.links(id) });
    },
  );

  app.get(
    '/v1/provisionings',
    {
      onRequest: requirePermission('read'),
      schema: {
        summary: 'List provisionings, newest first',
        description:
          'Newest first by start time, `limit` at a time: follow `nextPageToken` (as `pageToken`) for the next ' +
          'page. Every run is listed once across the pages, also while new runs start between them.',
        querystring: ListQuery,
        response: { 200: ProvisioningList, ...problems },
      },
    },
    async (req, reply) =>
      sendList(
        reply,
        await service.list({
          status: req.query.status,
          cluster: req.query.cluster,
          limit: req.query.limit ?? 50,
          pageToken: req.query.pageToken,
        }),
      ),
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
    async (req, reply) => sendView(reply, await service.get(req.params.id)),
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
        description:
          "Signs the approval with the API's approval key (GMSA_APPROVAL_KEY) and sends it to the run, which checks " +
          'the proof before it counts: 409 when the run refuses it, 503 without a key or when no worker answers.',
        params: IdParams,
        body: ApproveBody,
        response: { 202: Accepted, ...problems, 503: Problem },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const via = await service.approve(id, req.principal!.name, req.body?.comment);
      req.log.info({ id, by: req.principal?.name, via }, 'AD step approved');
      return reply.code(202).send({ id, status: 'RUNNING', links: service.links(id) });
    },
  );

  app.post(
    '/v1/provisionings/:id/cancel',
    {
      onRequest: requirePermission('cancel'),
      schema: { summary: 'Cancel a running provisioning', params: IdParams, response: { 202: Accepted, ...problems } },
    },
    async (req, reply) => {
      const id = req.params.id;
      await service.cancel(id);
      req.log.info({ id, by: req.principal?.name }, 'cancel requested');
      return reply.code(202).send({ id, status: 'CANCEL_REQUESTED', links: service.links(id) });
    },
  );
};
