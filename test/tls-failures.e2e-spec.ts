import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FlagsEvent } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { TEST_SECRET_KEY } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';
import { makeTlsCertificates } from './support/tls-certificates.js';

/**
 * PostHog's host over `https://` with a certificate this process does not trust (signed by a CA it was not given):
 * every call fails with `tls`, is not retried, and no key is in a log line.
 */
describe('a PostHog host whose TLS certificate is not trusted', () => {
  let server: Server;
  let host: string;
  /** TCP connections (one per attempt: none gets past the handshake) and HTTP requests it saw. */
  let connections = 0;
  let requests = 0;
  const harnesses: FlagsHarness[] = [];

  const start = async (options: Parameters<typeof startFlags>[0], logs: CaptureLogger) => {
    const harness = await startFlags({ host, ...options }, logs);
    harnesses.push(harness);
    return harness;
  };
  const everyLine = (logs: CaptureLogger) => logs.lines.map((line) => line.message).join('\n');

  beforeAll(async () => {
    const tls = makeTlsCertificates();
    server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (_, response) => {
      requests++;
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"flags":{}}');
    });
    server.on('connection', () => connections++);
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((harness) => harness.moduleRef.close()));
    connections = 0;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('/flags: the failure is tls, one attempt though retries allow more, and the log says so without the key', async () => {
    const logs = new CaptureLogger();
    const { flags } = await start({ retries: 2 }, logs);
    const events: FlagsEvent[] = [];
    flags.events$.subscribe((event) => events.push(event));
    expect(await flags.getFlagResult('beta', 'u-tls')).toBeUndefined();
    expect(flags.status().lastFailure?.reason).toBe('tls');
    expect(events).toContainEqual(expect.objectContaining({ type: 'upstream_failed', reason: 'tls' }));
    expect(connections).toBe(1);
    expect(requests).toBe(0);
    await eventually(() => logs.lines.some((line) => /\btls\b/.test(line.message)), 'a log line saying tls');
    expect(everyLine(logs)).not.toContain(TEST_API_KEY);
  });

  it('/flags/definitions: the failed poll is tls, one attempt, the secret key in no log line', async () => {
    const logs = new CaptureLogger();
    const { flags } = await start(
      { retries: 2, secretKey: TEST_SECRET_KEY, localEvaluation: { pollIntervalMs: 60_000 } },
      logs,
    );
    await eventually(() => flags.status().definitions.lastFailure, 'the first poll to fail');
    expect(flags.status().definitions.lastFailure?.reason).toBe('tls');
    expect(connections).toBe(1);
    expect(requests).toBe(0);
    expect(everyLine(logs)).not.toContain(TEST_SECRET_KEY);
    expect(everyLine(logs)).not.toContain(TEST_API_KEY);
  });
});
