/** Writing RFC 9457 problem details (the schema is api/schemas.ts `Problem`). */
import type { FastifyReply } from 'fastify';
import type { ApiProblem } from './errors.js';
import type { Problem } from './schemas.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export type ProblemFields = Omit<Problem, 'type' | 'title'>;

export function sendProblem(reply: FastifyReply, p: ProblemFields): FastifyReply {
  const body: Problem = { type: 'about:blank', title: TITLES[p.status] ?? 'Error', ...p };
  return reply.code(p.status).type('application/problem+json').send(body);
}

/** The problem members of a typed error: only those it has, so the answer carries no empty ones. */
export function problemOf(err: ApiProblem): ProblemFields {
  return {
    status: err.status,
    detail: err.message,
    ...(err.errors ? { errors: err.errors } : {}),
    ...(err.runningId ? { runningId: err.runningId } : {}),
  };
}
