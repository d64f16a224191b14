import type { ServerResponse } from 'node:http';

/**
 * Settles once the response has been sent or its connection has closed (Express's response, or Fastify's reply
 * around it): from its `'close'` event, one listener per response.
 */
export function responseClosed(response: { raw?: ServerResponse } & Partial<ServerResponse>): Promise<void> {
  const raw = (response.raw ?? response) as ServerResponse;
  if (raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => raw.once('close', () => resolve()));
}
