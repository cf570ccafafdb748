/**
 * The day-2 routes of the DESIGN contract: start an operation on a binding, read and list operations, and the two
 * inspections (access, sample workload). Errors are thrown, typed, and answered by the app's one error handler.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import type { OperationKind } from '../../contract/operations.js';
import { requirePermission } from '../plugins/auth.js';
import type { OperationsService } from '../operations-service.js';
import { keptJson } from './kept-json.js';
import {
  AccessReport,
  DeprovisionBody,
  EmptyBody,
  IdParams,
  OperationAccepted,
  OperationIdParams,
  OperationList,
  OperationListQuery,
  OperationView,
  Problem,
  SampleWorkload,
  ValidateBody,
} from '../schemas.js';

export interface OperationRoutesOptions {
  operations: OperationsService;
}

const problems = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 429: Problem };

/** Each operation's route, its body and what it says it does. */
const STARTS: { kind: OperationKind; body: TSchema; summary: string; description: string }[] = [
  {
    kind: 'deprovision',
    body: DeprovisionBody,
    summary: 'Deprovision: remove what the binding owns',
    description:
      'Removes, newest first, what this binding owns and nothing another binding still uses: credential spec and ' +
      "RBAC, gMSA, standard user, secret, the hosts' Key Vault grant, the identity on the scale sets, vault and " +
      'identity. Never the KDS root key. `disableGmsa` also turns gMSA off on the cluster when no spec is left.',
  },
  {
    kind: 'rotate-password',
    body: EmptyBody,
    summary: "Rotate the standard user's password",
    description:
      'A new password set in AD and written as a new secret version to every vault of that user, then the chain ' +
      'check. No body, or `{}`.',
  },
  {
    kind: 'repair',
    body: EmptyBody,
    summary: 'Repair drift',
    description:
      'The chain check, then converge what drifted: the identity on every Windows pool (new pools included), the ' +
      "Key Vault grant, the spec's content, the RBAC. No body, or `{}`.",
  },
  {
    kind: 'validate',
    body: ValidateBody,
    summary: 'Validate the binding',
    description:
      '`mode: chain` checks every link without a Windows node; `mode: pod` runs the checks of ' +
      'Start-GMSACredentialSpecValidation in a Windows pod that uses the spec.',
  },
];

/** YAML unless the caller asks for JSON (and not for YAML as well). */
const wantsJson = (req: FastifyRequest) => {
  const accept = req.headers.accept ?? '';
  return /\bapplication\/json\b/i.test(accept) && !/yaml/i.test(accept);
};

export const operationRoutes: FastifyPluginAsync<OperationRoutesOptions> = async (plain, { operations }) => {
  const sendList = keptJson();
  const sendView = keptJson();
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  for (const { kind, body, summary, description } of STARTS) {
    app.post(
      `/v1/provisionings/:id/${kind}`,
      {
        onRequest: requirePermission('start'),
        // A bare POST is an empty body.
        preValidation: async (req) => {
          req.body ??= {};
        },
        schema: {
          summary,
          description: `${description} 409 while this operation, or the provisioning itself, still runs.`,
          tags: ['operations'],
          params: IdParams,
          body,
          response: { 202: OperationAccepted, ...problems },
        },
      },
      async (req, reply) => {
        const bindingId = req.params.id;
        const { id, runId } = await operations.start(bindingId, kind, req.body as Record<string, unknown>);
        req.log.info({ id, bindingId, kind, by: req.principal?.name }, 'operation started');
        return reply
          .code(202)
          .header('location', `/v1/operations/${id}`)
          .send({ operationId: id, runId, status: 'RUNNING', links: operations.links(id, bindingId) });
      },
    );
  }

  app.get(
    '/v1/operations',
    {
      onRequest: requirePermission('read'),
      schema: {
        summary: 'List operations, newest first (scheduled runs included)',
        description: 'Paged as the provisionings are: follow `nextPageToken` (as `pageToken`).',
        tags: ['operations'],
        querystring: OperationListQuery,
        response: { 200: OperationList, ...problems },
      },
    },
    async (req, reply) =>
      sendList(
        reply,
        await operations.list({
          binding: req.query.binding,
          kind: req.query.kind,
          status: req.query.status,
          limit: req.query.limit ?? 50,
          pageToken: req.query.pageToken,
        }),
      ),
  );

  app.get(
    '/v1/operations/:operationId',
    {
      onRequest: requirePermission('read'),
      schema: {
        summary: "An operation's status and the progress of its steps",
        description: 'The same shape as a provisioning; the steps are the operation’s own.',
        tags: ['operations'],
        params: OperationIdParams,
        response: { 200: OperationView, ...problems },
      },
    },
    async (req, reply) => sendView(reply, await operations.get(req.params.operationId)),
  );

  app.get(
    '/v1/provisionings/:id/access',
    {
      onRequest: requirePermission('read'),
      schema: {
        summary: 'Who can read the secret',
        description:
          'Every node pool of the cluster and every principal with read on the secret, and whether it should have ' +
          'it (Get-AksAgentPoolsAkvAccess parity, RBAC vaults too). Read by the worker at the time of the call; 503 ' +
          'when no worker answers within the deadline.',
        tags: ['operations'],
        params: IdParams,
        response: { 200: AccessReport, ...problems, 502: Problem, 503: Problem },
      },
    },
    async (req) => operations.access(req.params.id),
  );

  app.get(
    '/v1/provisionings/:id/sample-workload',
    {
      onRequest: requirePermission('read'),
      schema: {
        summary: 'A sample Deployment that uses the credential spec',
        description:
          "A Deployment YAML for the binding's Windows pools, with the image matching their OS " +
          '(Get-GMSASampleApplicationYAML parity): application/yaml, or JSON with `Accept: application/json`.',
        tags: ['operations'],
        params: IdParams,
        response: {
          200: {
            description: 'the Deployment',
            content: {
              'application/yaml': { schema: Type.String() },
              'application/json': { schema: SampleWorkload },
            },
          },
          ...problems,
          502: Problem,
          503: Problem,
        },
      },
    },
    async (req, reply) => {
      const sample = await operations.sampleWorkload(req.params.id);
      if (wantsJson(req)) return reply.type('application/json').send(sample);
      return reply.type('application/yaml').send(sample.yaml);
    },
  );
};
