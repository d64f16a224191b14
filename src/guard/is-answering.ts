import type { ServerResponse } from 'node:http';

/**
 * Whether the response is still being answered (Express's response, or Fastify's reply around it): false once it
 * has been sent or abandoned. Read when needed, so it costs no listener per request.
 */
export function isAnswering(response: { raw?: ServerResponse } & Partial<ServerResponse>): () => boolean {
  const raw = (response.raw ?? response) as Partial<ServerResponse>;
  return () => !raw.writableFinished && !raw.destroyed;
}
