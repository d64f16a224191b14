import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { AnsweringServer } from '../../test/support/answering-server.js';
import { eventually } from '../../test/support/eventually.js';
import { flagsGet } from '../../test/support/posthog-http-request.js';
import { forceGc } from '../../test/support/force-gc.js';
import type { AbortableRequest } from './abortable-request.js';
import { PostHogHttp } from './posthog-http.js';
import type { PostHogResponse } from './posthog-request.js';
import { UpstreamError } from '../pipeline/upstream-error.js';

describe('PostHogHttp', () => {
  let server: AnsweringServer;
  const clients: PostHogHttp[] = [];

  const client = (connections = 4) => {
    const made = new PostHogHttp(server.host, connections, '/test');
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await AnsweringServer.start();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(clients.splice(0).map((made) => made.close()));
    server.maxOpen = 0;
  });
  afterAll(() => server.close());

  const text = '{"flags":{"beta":{"enabled":true}}}';
  it.each([
    ['none', (body: string) => Buffer.from(body)],
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('decodes a body sent with content-encoding %s', async (encoding, encode) => {
    server.answer = (response) => response.writeHead(200, { 'Content-Encoding': encoding }).end(encode(text));
    expect(await client().request(flagsGet())).toMatchObject({ status: 200, text });
  });

  it('fails with too_large past maxResponseBytes decoded, a compression bomb included', async () => {
    const big = 'x'.repeat(64 * 1024);
    for (const [encoding, body] of [
      ['identity', Buffer.from(big)],
      ['gzip', gzipSync(big)],
    ] as const) {
      server.answer = (response) => response.writeHead(200, { 'Content-Encoding': encoding }).end(body);
      await expect(client().request(flagsGet())).rejects.toMatchObject({ reason: 'too_large' });
    }
  });

  it('decodes a long compressed body at the pace of its decoder', async () => {
    const long = randomBytes(3 * 2 ** 20).toString('base64');
    const body = gzipSync(long);
    server.answer = (response) => response.writeHead(200, { 'Content-Encoding': 'gzip' }).end(body);
    const response = await client().request(flagsGet({ maxResponseBytes: long.length }));
    expect(response.text === long).toBe(true);
  });

  it.each([
    ['keeps', 'of 64 KiB', 64 * 1024, true, 0],
    ['keeps', 'of 64 KiB, chunked', 64 * 1024, false, 0],
    ['closes', 'past 64 KiB', 64 * 1024 + 1, true, 1],
    ['closes', 'past 64 KiB, chunked', 64 * 1024 + 1, false, 1],
  ])('%s the connection under an unwanted body %s', async (_, _what, size, withLength, opened) => {
    const body = Buffer.alloc(size, 'x');
    server.answer = (response) => {
      if (withLength) response.writeHead(404, { 'Content-Length': size }).end(body);
      else response.writeHead(404).end(body);
    };
    const http = client(1);
    expect(await http.request(flagsGet())).toMatchObject({ status: 404 });
    const before = server.connections;
    await http.request(flagsGet());
    expect(server.connections).toBe(before + opened);
  });

  it('answers a 3xx as it is, following no Location, and discards a body it does not read', async () => {
    server.answer = (response) => response.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' }).end('moved');
    expect(await client().request(flagsGet())).toEqual({ status: 302, headers: expect.any(Object) });
  });

  it('abandons a request on its own timer, garbage collections or not', async () => {
    server.answer = () => {};
    const request = client().request(flagsGet({ timeoutMs: 300 }));
    await eventually(() => server.open === 1, 'the request to hang');
    forceGc();
    await expect(request).rejects.toMatchObject({ reason: 'timeout' });
    await eventually(() => server.open === 0, 'the connection under it closed');
  });

  it("aborts on the caller's signal, before the timer", async () => {
    server.answer = () => {};
    const abort = new AbortController();
    const request = client().request(flagsGet({ timeoutMs: 60_000, signal: abort.signal }));
    await eventually(() => server.open === 1, 'the request to hang');
    abort.abort();
    await expect(request).rejects.toBeInstanceOf(UpstreamError);
    await expect(request).rejects.not.toMatchObject({ reason: 'timeout' });
  });

  it('opens at most `connections` connections: the other requests wait for one', async () => {
    const answers: ServerResponse[] = [];
    server.answer = (response) => answers.push(response);
    const http = client(2);
    const requests = Array.from({ length: 5 }, () => http.request(flagsGet()));
    await eventually(() => server.open === 2, 'two requests in flight');
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.maxOpen).toBe(2);
    server.answer = (response) => response.writeHead(200).end('{}');
    for (const response of answers.splice(0)) response.writeHead(200).end('{}');
    expect((await Promise.all(requests)).map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(server.maxOpen).toBe(2);
  });

  it('reads the answer after an informational 1xx', async () => {
    server.answer = (response) => {
      response.writeEarlyHints({ link: '</style.css>; rel=preload' });
      response.writeHead(200).end(text);
    };
    expect(await client().request(flagsGet())).toMatchObject({ status: 200, text });
  });

  it('aborts a request still waiting for a connection: it fails at once and is never sent', async () => {
    const answers: ServerResponse[] = [];
    server.answer = (response) => answers.push(response);
    const http = client(1);
    const first = http.start(flagsGet());
    await eventually(() => server.open === 1, 'the first request to hang');
    const second = http.start(flagsGet());
    second.abort();
    await expect(second.response).rejects.toMatchObject({ reason: 'network' });
    const sent = server.received;
    server.answer = (response) => response.writeHead(200).end('{}');
    for (const response of answers.splice(0)) response.writeHead(200).end('{}');
    expect(await first.response).toMatchObject({ status: 200 });
    expect(await http.request(flagsGet())).toMatchObject({ status: 200 });
    expect(server.received).toBe(sent + 1);
  });

  it('times out a request still waiting for a connection on its own timer', async () => {
    server.answer = () => {};
    const http = client(1);
    const sent = server.received;
    http.start(flagsGet()).response.catch(() => {});
    await eventually(() => server.open === 1, 'the first request to hang');
    await expect(http.request(flagsGet({ timeoutMs: 100 }))).rejects.toMatchObject({ reason: 'timeout' });
    expect(server.received).toBe(sent + 1);
  });

  it.each([
    ['read', 200],
    ['discarded', 404],
  ])(
    'does nothing on an abort after the end (a body %s): the answer stands, the connection is kept',
    async (_, status) => {
      server.answer = (response) => response.writeHead(status).end('{}');
      const http = client(1);
      const exchange = http.start(flagsGet());
      const response = await exchange.response;
      const opened = server.connections;
      exchange.abort();
      expect(await exchange.response).toBe(response);
      expect(await http.request(flagsGet())).toMatchObject({ status });
      expect(server.connections).toBe(opened);
    },
  );

  /** How an exchange is ended: the server's answer, then what the test does once it started. */
  type Ending = [
    string,
    (response: ServerResponse) => void,
    (exchange: AbortableRequest<PostHogResponse>, signal: AbortController) => Promise<void> | void,
    number | string,
  ];
  const hang = () => {};
  const nothing = () => {};
  const whenSent = async (end: () => void) => {
    await eventually(() => server.open === 1, 'the request to hang');
    end();
  };
  it.each<Ending>([
    ['a body read', (response) => response.writeHead(200).end('{}'), nothing, 200],
    ['a body discarded', (response) => response.writeHead(404).end('nope'), nothing, 404],
    ['too_large', (response) => response.writeHead(200).end('x'.repeat(2048)), nothing, 'too_large'],
    [
      'a corrupt encoding',
      (response) => response.writeHead(200, { 'Content-Encoding': 'gzip' }).end('{}'),
      nothing,
      'bad_response',
    ],
    ['a transport failure', (response) => response.socket!.destroy(), nothing, 'connection_reset'],
    ['abort()', hang, (exchange) => whenSent(() => exchange.abort()), 'network'],
    ['abort() before the request is sent', hang, (exchange) => exchange.abort(), 'network'],
    ["the caller's signal", hang, (_, signal) => whenSent(() => signal.abort()), 'network'],
  ])('stops its timer and lets go of the signal on every ending: %s', async (_, respond, end, outcome) => {
    server.answer = respond;
    const signal = new AbortController();
    const setTimer = jest.spyOn(globalThis, 'setTimeout');
    const clearTimer = jest.spyOn(globalThis, 'clearTimeout');
    const exchange = client().start(flagsGet({ timeoutMs: 60_000, signal: signal.signal }));
    const timer = setTimer.mock.results[setTimer.mock.calls.findIndex((call) => call[1] === 60_000)]
      ?.value as NodeJS.Timeout;
    expect(timer).toBeDefined();
    expect(getEventListeners(signal.signal, 'abort')).toHaveLength(1);
    await end(exchange, signal);
    const ended = await exchange.response.then(
      (response) => response.status,
      (error: UpstreamError) => error.reason,
    );
    expect(ended).toBe(outcome);
    expect(clearTimer).toHaveBeenCalledWith(timer);
    expect(getEventListeners(signal.signal, 'abort')).toHaveLength(0);
  });

  it('never sends a request whose signal is already aborted, and listens to it no further', async () => {
    const signal = AbortSignal.abort();
    const sent = server.received;
    await expect(client().request(flagsGet({ signal }))).rejects.toMatchObject({ reason: 'network' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.received).toBe(sent);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('never puts the query or a header (where keys travel) in an error', async () => {
    const refused = new PostHogHttp('http://127.0.0.1:1', 1, '/test');
    clients.push(refused);
    const failure = await refused
      .request(
        flagsGet({
          path: '/flags/definitions?token=phc_secret_token',
          headers: { authorization: 'Bearer phs_s3cret' },
        }),
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
