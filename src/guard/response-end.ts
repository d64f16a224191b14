import type { ServerResponse } from 'node:http';

/** The longest a request holds its evaluation for reuse: a streaming response must not pin it for hours. */
export const MAX_REUSE_MS = 1000;

/**
 * Settles when the response is sent or abandoned (Express's response, or Fastify's reply around it), or after
 * {@link MAX_REUSE_MS}, whichever comes first; the timer is cleared with the response.
 */
export function responseEnd(response: { raw?: ServerResponse } & Partial<ServerResponse>): Promise<void> {
  const raw = (response.raw ?? response) as ServerResponse;
  if (raw.writableFinished || raw.destroyed || typeof raw.once !== 'function') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, MAX_REUSE_MS);
    raw.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
