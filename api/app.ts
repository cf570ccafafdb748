/**
 * The API as a Fastify plugin (routes, auth, problem details, OpenAPI) and buildApp, which makes the server the
 * way api/main.ts and the tests both use it.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { PayloadCodec } from '@temporalio/common';
import type { TokenTable } from './auth.js';
import { authPlugin, failureWindow, RATE_LIMIT_PLUGIN, type FailureLimit } from './plugins/auth.js';
import { ApiProblem } from './errors.js';
import { problemOf, sendProblem } from './problem.js';
import type { OperationsService } from './operations-service.js';
import type { ProvisioningService } from './provisioning-service.js';
import { codecRoutes } from './routes/codec.js';
import { healthRoutes } from './routes/health.js';
import { metricsPlugin } from './plugins/metrics.js';
import { operationRoutes } from './routes/operations.js';
import { provisioningRoutes } from './routes/provisionings.js';
import type { Logger } from '../config/logger.js';
import type { TrustProxy } from '../config/trust-proxy.js';
import { REDACT_PATHS } from '../config/logger.js';

export interface AppDeps {
  service: ProvisioningService;
  /** The day-2 operations and inspections (DESIGN "Day 2"); without it those routes are not served. */
  operations?: OperationsService;
  tokens: TokenTable;
  /** The payload codec of the Temporal client; with it the API serves /codec for the Temporal UI. */
  codec?: PayloadCodec;
  /** Browser origins allowed to call the codec endpoint (the Temporal UI). */
  codecCorsOrigins?: string[];
  /** Used when a request names no subscription (PowerShell params files have none). */
  defaultSubscriptionId?: string;
  logger?: Logger | boolean;
  /** Wrong tokens allowed per address and window before more wrong ones get 429 (tests pass their own). */
  failureLimit?: FailureLimit;
  /** Which proxies' X-Forwarded-For names the client (GMSA_TRUST_PROXY): the address failures count against. */
  trustProxy?: TrustProxy;
  /** When set, `GET /metrics` asks for this bearer token (GMSA_METRICS_TOKEN); else it answers anybody. */
  metricsToken?: string;
}

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: typeof deps.logger === 'object' ? deps.logger : undefined,
    logger: typeof deps.logger === 'boolean' ? { level: 'info', redact: REDACT_PATHS } : undefined,
    bodyLimit: 64 * 1024,
    trustProxy: deps.trustProxy ?? false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'aks-gmsa',
        version: '1',
        description: 'Provision group Managed Service Accounts for Windows containers on AKS, as a Temporal workflow.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // First, so its hooks count every route's answers (api/plugins/metrics.ts).
  await app.register(metricsPlugin, { token: deps.metricsToken });

  // The one place errors become answers: the typed errors of the service, routes and auth hooks, Fastify's
  // validation and body errors, and anything else as a 500 that says no more than where to look.
  app.setErrorHandler((err: FastifyError | ApiProblem, req, reply) => {
    if (err instanceof ApiProblem) {
      reply.headers(err.headers);
      return sendProblem(reply, problemOf(err));
    }
    if (err.validation) {
      const where = err.validationContext ?? 'request';
      return sendProblem(reply, {
        status: 400,
        detail: `invalid ${where}`,
        errors: err.validation.map((v) => {
          // Ajv points at the parent for a missing or an unknown property; name the property itself.
          const { missingProperty, additionalProperty } = v.params as Record<string, string | undefined>;
          const name = missingProperty ?? additionalProperty;
          return { field: `/${where}${v.instancePath}${name ? `/${name}` : ''}`, message: v.message ?? 'is invalid' };
        }),
      });
    }
    if (err.statusCode === 413)
      return sendProblem(reply, { status: 413, detail: 'the request body is larger than 64 KiB' });
    if (err.statusCode === 415) return sendProblem(reply, { status: 415, detail: 'send application/json' });
    if (err.statusCode === 400) return sendProblem(reply, { status: 400, detail: err.message });
    req.log.error({ err }, 'request failed');
    return sendProblem(reply, { status: 500, detail: 'internal error; see the API log' });
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, { status: 404, detail: `no route ${req.method} ${req.url}` }),
  );

  await app.register(rateLimit, RATE_LIMIT_PLUGIN);
  const failures = app.createRateLimit(failureWindow(deps.failureLimit));
  await app.register(healthRoutes, { service: deps.service });
  await app.register(async (v1) => {
    await v1.register(authPlugin, { tokens: deps.tokens, failures });
    await v1.register(provisioningRoutes, { service: deps.service, defaultSubscriptionId: deps.defaultSubscriptionId });
    if (deps.operations) await v1.register(operationRoutes, { operations: deps.operations });
  });
  if (deps.codec) {
    const codec = deps.codec;
    await app.register(codecRoutes, { codec, tokens: deps.tokens, failures, corsOrigins: deps.codecCorsOrigins ?? [] });
  }
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
