import { describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { responseClosed } from './response-closed.js';

/** Whether the promise has settled by the time the microtasks queued so far have run. */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

/** A real server whose handler hands each response to the test, and a client request to it. */
async function withResponse(test: (response: ServerResponse, abort: () => void) => Promise<void>): Promise<void> {
  let tested!: Promise<void>;
  const server = createServer((_request, response) => {
    tested = test(response, () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' });
  client.on('error', () => {});
  client.on('response', (response) => response.resume());
  client.end();
  await once(server, 'request');
  await tested;
  server.closeAllConnections();
  server.close();
}

describe('responseClosed', () => {
  it('settles once the response has been sent, not before', async () => {
    await withResponse(async (response) => {
      const closed = responseClosed(response);
      expect(await hasSettled(closed)).toBe(false);
      response.end('ok');
      await closed;
    });
  });

  it('settles when the client goes away before the response is sent', async () => {
    await withResponse(async (response, abort) => {
      const closed = responseClosed(response);
      abort();
      await closed;
      expect(response.writableEnded).toBe(false);
    });
  });

  it('settles at once when there is no response to wait for', async () => {
    expect(await hasSettled(responseClosed(undefined))).toBe(true);
  });

  it("reads the raw response inside Fastify's reply, and settles at once for one already destroyed", async () => {
    await withResponse(async (response) => {
      const closed = responseClosed({ raw: response });
      response.end('ok');
      await closed;
      expect(await hasSettled(responseClosed({ raw: response }))).toBe(true);
    });
  });
});
