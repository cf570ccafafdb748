/**
 * The API's Prometheus metrics at `GET /metrics` (contract/metrics.ts): requests and their duration by route
 * pattern (`/v1/provisionings/:id`, never the URL with its ids; `unmatched` for a path no route serves), method and
 * status, and the Node process's default metrics. Each app has a registry of its own (tests build many apps in one
 * process); the process metrics are collected once per process, as they are the process's, not an app's.
 *
 * No token by default (DESIGN "REST API": bind it to an internal address): the answer carries no secret and no id,
 * and Prometheus scrapes without one in most setups. Where the API is reachable from outside and /metrics cannot be
 * kept off the ingress, GMSA_METRICS_TOKEN makes it ask for `Authorization: Bearer <token>` (Prometheus'
 * `authorization` scrape setting).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { HTTP_DURATION, HTTP_REQUESTS, metricFamily } from '../../contract/metrics.js';
import { Unauthorized } from '../errors.js';

export interface MetricsOptions {
  /** When set, /metrics answers only a request with this bearer token (GMSA_METRICS_TOKEN). */
  token?: string;
}

/** The route label of a request that matched no route (a 404 of the not-found handler). */
export const UNMATCHED_ROUTE = 'unmatched';

let processRegistry: Registry | undefined;
/** The Node process's metrics (CPU, memory, event loop, GC), collected once for every app of the process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

export const metricsPlugin = fp<MetricsOptions>(async (app, { token }) => {
  const registry = new Registry();
  const labelNames = ['route', 'method', 'status'] as const;
  const requests = new Counter({
    name: HTTP_REQUESTS,
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: HTTP_DURATION,
    help: 'seconds from a request to its answer, by route pattern, method and status',
    labelNames,
    buckets: [...metricFamily(HTTP_DURATION).buckets!],
    registers: [registry],
  });

  app.addHook('onResponse', async (req, reply) => {
    const labels = { route: req.routeOptions.url ?? UNMATCHED_ROUTE, method: req.method, status: reply.statusCode };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  const expected = token ? digest(token) : undefined;
  const authorize = async (req: FastifyRequest) => {
    if (!expected) return;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match || !timingSafeEqual(digest(match[1]!), expected))
      throw new Unauthorized('send Authorization: Bearer <the metrics token> (GMSA_METRICS_TOKEN)');
  };

  app.get('/metrics', { schema: { hide: true }, onRequest: authorize }, async (_req, reply) => {
    const text = (await registry.metrics()) + (await processMetrics().metrics());
    return reply.type(registry.contentType).send(text);
  });
});
