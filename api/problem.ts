/** RFC 9457 problem details: every error the API returns, with field-level detail for 400. */
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { FieldError } from '../domain/field-errors.js';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    runningId: Type.Optional(Type.String()),
  },
  { $id: 'Problem' },
);

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
  503: 'Service Unavailable',
};

export interface Problem {
  status: number;
  detail?: string;
  errors?: FieldError[];
  runningId?: string;
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  const title = TITLES[p.status] ?? 'Error';
  return reply
    .code(p.status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, ...p });
}
