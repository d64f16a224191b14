import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { eventually } from '../../test/support/eventually.js';
import { forceGc } from '../../test/support/force-gc.js';
import { PostHogHttp, type PostHogRequest } from './posthog-http.js';
import { UpstreamError } from './upstream-error.js';

describe('PostHogHttp', () => {
  let server: Server;
  let host: string;
  let answer: (response: ServerResponse) => void;
  let pending = 0;
  let maxPending = 0;
  const clients: PostHogHttp[] = [];

  const client = (connections = 4) => {
    const made = new PostHogHttp(host, connections, '/test');
    clients.push(made);
    return made;
  };
  const get = (overrides: Partial<PostHogRequest> = {}): PostHogRequest => ({
    method: 'GET',
    path: '/flags/?v=2',
    headers: {},
    readBodyOf: (status) => status === 200,
    maxResponseBytes: 1024,
    ...overrides,
  });

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      pending++;
      maxPending = Math.max(maxPending, pending);
      response.once('close', () => pending--);
      request.resume();
      answer(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((made) => made.close()));
    maxPending = 0;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const text = '{"flags":{"beta":{"enabled":true}}}';
  it.each([
    ['none', (body: string) => Buffer.from(body)],
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('decodes a body sent with content-encoding %s', async (encoding, encode) => {
    answer = (response) => response.writeHead(200, { 'Content-Encoding': encoding }).end(encode(text));
    expect(await client().request(get())).toMatchObject({ status: 200, text });
  });

  it('fails with too_large past maxResponseBytes decoded, a compression bomb included', async () => {
    const big = 'x'.repeat(64 * 1024);
    for (const [encoding, body] of [
      ['identity', Buffer.from(big)],
      ['gzip', gzipSync(big)],
    ] as const) {
      answer = (response) => response.writeHead(200, { 'Content-Encoding': encoding }).end(body);
      await expect(client().request(get())).rejects.toMatchObject({ reason: 'too_large' });
    }
  });

  it('answers a 3xx as it is, following no Location, and discards a body it does not read', async () => {
    answer = (response) => response.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' }).end('moved');
    expect(await client().request(get())).toEqual({ status: 302, headers: expect.any(Object) });
  });

  it('abandons a request on its own timer, garbage collections or not', async () => {
    answer = () => {};
    const request = client().request(get({ timeoutMs: 300 }));
    await eventually(() => pending === 1, 'the request to hang');
    forceGc();
    await expect(request).rejects.toMatchObject({ reason: 'timeout' });
    await eventually(() => pending === 0, 'the connection under it closed');
  });

  it("aborts on the caller's signal, before the timer", async () => {
    answer = () => {};
    const abort = new AbortController();
    const request = client().request(get({ timeoutMs: 60_000, signal: abort.signal }));
    await eventually(() => pending === 1, 'the request to hang');
    abort.abort();
    await expect(request).rejects.toBeInstanceOf(UpstreamError);
    await expect(request).rejects.not.toMatchObject({ reason: 'timeout' });
  });

  it('opens at most `connections` connections: the other requests wait for one', async () => {
    const answers: ServerResponse[] = [];
    answer = (response) => answers.push(response);
    const http = client(2);
    const requests = Array.from({ length: 5 }, () => http.request(get()));
    await eventually(() => pending === 2, 'two requests in flight');
    await new Promise((resolve) => setImmediate(resolve));
    expect(maxPending).toBe(2);
    answer = (response) => response.writeHead(200).end('{}');
    for (const response of answers.splice(0)) response.writeHead(200).end('{}');
    expect((await Promise.all(requests)).map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(maxPending).toBe(2);
  });

  it('never puts the query or a header (where keys travel) in an error', async () => {
    const refused = new PostHogHttp('http://127.0.0.1:1', 1, '/test');
    clients.push(refused);
    const failure = await refused
      .request(
        get({ path: '/flags/definitions?token=phc_secret_token', headers: { authorization: 'Bearer phs_s3cret' } }),
      )
      .catch((error: Error) => error);
    expect(failure).toMatchObject({ reason: 'connection_refused' });
    expect(`${(failure as Error).message} ${(failure as Error).stack}`).not.toMatch(/phc_secret_token|phs_s3cret/);
  });

  it('src/ keeps every timeout on timers of its own: no AbortSignal.timeout or AbortSignal.any anywhere', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const offenders = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
      .filter((file) => /AbortSignal\.(timeout|any)\s*\(/.test(readFileSync(join(root, file), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
