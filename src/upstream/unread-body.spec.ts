import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import { AnsweringServer } from '../../test/support/answering-server.js';
import { eventually } from '../../test/support/eventually.js';
import { flagsGet } from '../../test/support/posthog-http-request.js';
import { stallBody } from '../../test/support/fake-posthog.js';
import type { PostHogExchange } from './posthog-exchange.js';
import { PostHogHttp } from './posthog-http.js';

/**
 * A body the client does not read (a 503, a 302, a `/batch/` 200) is drained within the exchange's own timer, or
 * its connection is closed: a body that stalls never holds a connection past the exchange (undici would keep it
 * for its 300 s body timeout), so the pool's busy connections are the exchanges not settled yet.
 */
describe('PostHogHttp: bodies not read', () => {
  let server: AnsweringServer;
  const clients: PostHogHttp[] = [];

  const client = (size = 1) => {
    const made = new PostHogHttp(server.host, size, '/test');
    clients.push(made);
    return made;
  };
  const ok = (response: ServerResponse) => response.writeHead(200).end('{}');

  beforeAll(async () => {
    server = await AnsweringServer.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((made) => made.close()));
    await eventually(() => server.open === 0, 'every response closed');
  });
  afterAll(() => server.close());

  it.each([503, 302, 404])(
    'answers a %i whose body stalls at its timer, closing the connection: the next request is served',
    async (status) => {
      server.answer = (response) => stallBody(response, status);
      const http = client(1);
      expect(await http.request(flagsGet({ timeoutMs: 200 }))).toMatchObject({ status });
      await eventually(() => server.open === 0, 'the stalled connection closed');
      server.answer = ok;
      expect(await http.request(flagsGet({ timeoutMs: 5_000 }))).toMatchObject({ status: 200, text: '{}' });
    },
  );

  it('answers a 200 whose body it does not read (a batch accepted) at its timer, when the body stalls', async () => {
    server.answer = (response) => stallBody(response, 200);
    const http = client(1);
    expect(await http.request(flagsGet({ timeoutMs: 200, readBodyOf: () => false }))).toMatchObject({ status: 200 });
    server.answer = ok;
    expect(await http.request(flagsGet({ timeoutMs: 5_000 }))).toMatchObject({ status: 200, text: '{}' });
  });

  it('holds the connection until the unread body ends: the pool never has more busy connections than exchanges', async () => {
    const stalled: ServerResponse[] = [];
    server.answer = (response) => {
      stallBody(response, 503);
      stalled.push(response);
    };
    const http = client(2);
    let settled = 0;
    const first = http.start(flagsGet());
    const second = http.start(flagsGet());
    for (const exchange of [first, second]) void exchange.response.then(() => settled++);
    await eventually(() => stalled.length === 2, 'both bodies begun');
    // The status is in, the body is not: the exchanges have not settled, their connections are theirs.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(0);
    const opened = server.connections;
    stalled[0]!.end('"done"}');
    expect(await first.response).toMatchObject({ status: 503 });
    // The body ended: its connection is kept for the next request.
    server.answer = ok;
    expect(await http.request(flagsGet())).toMatchObject({ status: 200 });
    expect(server.connections).toBe(opened);
    second.abort();
    expect(await second.response).toMatchObject({ status: 503 });
    await eventually(() => server.open === 0, 'the connection under the aborted body closed');
  });

  it('answers with the status on abort() while the body stalls, and closes the connection', async () => {
    server.answer = (response) => stallBody(response, 503);
    const http = client(1);
    const exchange = http.start(flagsGet()) as PostHogExchange;
    await eventually(() => exchange.discardingBody, 'the status in, its body stalled');
    exchange.abort();
    expect(await exchange.response).toMatchObject({ status: 503 });
    await eventually(() => server.open === 0, 'the stalled connection closed');
  });

  it("answers with the status on the caller's signal while the body stalls, and closes the connection", async () => {
    server.answer = (response) => stallBody(response, 302);
    const signal = new AbortController();
    const exchange = client(1).start(flagsGet({ signal: signal.signal })) as PostHogExchange;
    await eventually(() => exchange.discardingBody, 'the status in, its body stalled');
    signal.abort();
    expect(await exchange.response).toMatchObject({ status: 302 });
    await eventually(() => server.open === 0, 'the stalled connection closed');
  });

  it('keeps the connection under an unread body that ends in a later write', async () => {
    server.answer = (response) => {
      stallBody(response, 503);
      setImmediate(() => response.end('"late"}'));
    };
    const http = client(1);
    expect(await http.request(flagsGet())).toMatchObject({ status: 503 });
    const opened = server.connections;
    server.answer = ok;
    expect(await http.request(flagsGet())).toMatchObject({ status: 200 });
    expect(server.connections).toBe(opened);
  });
});
