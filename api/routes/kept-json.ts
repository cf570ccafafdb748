/**
 * Polled answers are served again and again from the same kept object (domain/shared-reads.ts): serialize each one
 * once, by the route's own response schema, and send the text after that. One per route, since the text depends
 * on the route's schema.
 */
import type { FastifyReply } from 'fastify';

export function keptJson() {
  const texts = new WeakMap<Record<string, unknown>, string>();
  return (reply: FastifyReply, value: Record<string, unknown>): FastifyReply => {
    let text = texts.get(value);
    if (text === undefined) {
      text = reply.getSerializationFunction('200')!(value);
      texts.set(value, text);
    }
    return reply.type('application/json; charset=utf-8').send(text);
  };
}
