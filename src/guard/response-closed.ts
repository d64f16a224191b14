import type { ServerResponse } from 'node:http';

/**
 * Settles once the response has been sent or its connection has closed (Express's response, or Fastify's reply
 * around it): from its `'close'` event, one listener per response. At once when there is no response to wait for
 * (an adapter that gives none, or one already destroyed).
 */
export function responseClosed(
  response: ({ raw?: ServerResponse } & Partial<ServerResponse>) | undefined,
): Promise<void> {
  const raw = (response?.raw ?? response) as ServerResponse | undefined;
  if (!raw || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => raw.once('close', resolve));
}
