import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeTlsCertificates } from '../../test/support/tls-certificates.js';
import { PostHogHttp } from './posthog-http.js';
import type { PostHogRequest } from './posthog-request.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { transportError } from './transport-error.js';

describe('PostHogHttp: TLS failures', () => {
  let https: Server;
  let plain: HttpServer;
  /** TCP connections and HTTP requests the https server saw. */
  let connections = 0;
  let requests = 0;

  const secret = 'phc_tls_Secret_Key_42';
  const request: PostHogRequest = {
    method: 'GET',
    path: `/flags/definitions?token=${secret}`,
    headers: { authorization: `Bearer ${secret}` },
    timeoutMs: 5_000,
    readBodyOf: () => true,
    maxResponseBytes: 1024,
  };
  const urlOf = (server: Server | HttpServer, scheme: string) =>
    `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const failureOf = async (host: string) => {
    const http = new PostHogHttp(host, 1, '/test');
    try {
      return await http.request(request).then(
        () => undefined,
        (error: unknown) => error,
      );
    } finally {
      await http.close();
    }
  };

  beforeAll(async () => {
    // A server certificate signed by a CA this process does not trust.
    const tls = makeTlsCertificates();
    https = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (_, response) => {
      requests++;
      response.end('{}');
    });
    https.on('connection', () => connections++);
    https.on('tlsClientError', () => {});
    plain = createHttpServer((_, response) => response.end('{}'));
    await Promise.all(
      [https, plain].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))),
    );
  });
  afterAll(async () => {
    for (const server of [https, plain]) server.closeAllConnections();
    await Promise.all([https, plain].map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('fails with tls, not retryable, on a certificate not trusted, naming neither the query nor a header', async () => {
    const failure = await failureOf(urlOf(https, 'https'));
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ reason: 'tls', retryable: false });
    expect((failure as Error).message).toMatch(
      /^PostHog \/test failed \(tls\): the certificate is not trusted \(\w+\)$/,
    );
    expect(`${(failure as Error).message} ${(failure as Error).stack}`).not.toContain(secret);
    expect(connections).toBe(1);
    expect(requests).toBe(0);
  });

  it('fails with tls when the server does not speak TLS', async () => {
    const failure = await failureOf(urlOf(plain, 'https'));
    expect(failure).toMatchObject({ reason: 'tls', retryable: false });
    expect((failure as Error).message).toMatch(/\(tls\): the TLS handshake failed \(ERR_SSL_\w+\)$/);
  });

  it.each([
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'tls'],
    ['ECONNRESET', 'connection_reset'],
    ['ERR_SOMETHING_ELSE', 'network'],
  ])('maps a socket error coded %s to %s', (code, reason) => {
    const socketError = Object.assign(new Error('socket'), { code });
    expect(transportError(new Error('fetch failed', { cause: socketError }))).toMatchObject({ reason });
  });
});
