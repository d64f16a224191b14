import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import request from 'supertest';
import type { FakePostHog } from '../src/testing/index.js';
import { startStandardPostHog } from './support/fake-posthog.js';
import { startGuardedApp, type Platform } from './support/guarded-app.js';

setFlagsFromString('--expose-gc');
/** A full garbage collection, from a context created after the flag was set. */
const collectGarbage = runInNewContext('gc') as () => void;

describe.each<Platform>(['express', 'fastify'])('@FeatureFlag and the request it guarded, on %s', (platform) => {
  let fake: FakePostHog;
  let app: INestApplication;

  beforeAll(async () => {
    fake = await startStandardPostHog();
    app = await startGuardedApp(platform, { host: fake.url });
  });

  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  it('keeps neither the request nor its response alive once the response has been sent', async () => {
    const server = app.getHttpServer() as Server;
    let guarded: WeakRef<IncomingMessage> | undefined;
    const remember = (incoming: IncomingMessage) => (guarded = new WeakRef(incoming));
    server.prependListener('request', remember);
    // supertest listens for this one request and closes the server after it: every connection ends.
    const closed = once(server, 'close');
    try {
      const response = await request(server).get('/features/service').set('x-test-user', 'user-1').expect(200);
      expect(response.body.source).toBe('remote');
    } finally {
      server.off('request', remember);
    }
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(guarded).toBeDefined();
    expect(guarded!.deref()).toBeUndefined();
  });
});
