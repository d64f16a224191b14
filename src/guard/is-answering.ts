import type { ServerResponse } from 'node:http';

/**
 * Whether the response is still being answered (Express's response, or Fastify's reply around it): false once the
 * app has ended it, or it was destroyed. Read only when asked (property reads on Express's response are not cheap),
 * and with no listener per request.
 */
export function isAnswering(response: { raw?: ServerResponse } & Partial<ServerResponse>): () => boolean {
  return () => {
    const raw = (response.raw ?? response) as Partial<ServerResponse>;
    return !raw.writableEnded && !raw.destroyed;
  };
}
