/** Liveness (the process answers) and readiness (Temporal answers). No auth: probes carry no token. */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { ProvisioningService } from '../provisioning-service.js';

const Health = Type.Object({ status: Type.String(), detail: Type.Optional(Type.String()) });

export const healthRoutes: FastifyPluginAsync<{ service: ProvisioningService }> = async (app, { service }) => {
  app.get('/healthz', { schema: { security: [], response: { 200: Health } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { security: [], response: { 200: Health, 503: Health } } }, async (_req, reply) => {
    try {
      await service.ping();
      return { status: 'ready' };
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', detail: `Temporal: ${(err as Error).message}` });
    }
  });
};
