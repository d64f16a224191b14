import 'reflect-metadata';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FeatureFlag, FlagsService } from '../src/index.js';
import { FakePostHog, STANDARD_FLAGS } from './support/fake-posthog.js';
import { startRouteApp } from './support/guarded-app.js';

/** A guarded route, and one whose requests sometimes read one flag more (`read`: `yes`). */
@Controller('outage')
class OutageController {
  constructor(private readonly flags: FlagsService) {}

  @Get('guard')
  @FeatureFlag('beta')
  guard() {
    return { ok: true };
  }

  @Get('more/:read')
  @FeatureFlag('beta')
  async more(@Param('read') read: string) {
    return read === 'yes' ? { checkout: await this.flags.getFlag('checkout') } : { ok: true };
  }
}

describe('a route asking for its flags, in the first seconds of an outage (fallbackAfterMs)', () => {
  let fake: FakePostHog;
  let app: INestApplication;
  const get = (path: string, distinctId: string) => request(app.getHttpServer()).get(path).set('x-user', distinctId);

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.setFlags(STANDARD_FLAGS);
    app = await startRouteApp(fake.url, [OutageController], { fallbackAfterMs: 50, timeoutMs: 60_000 });
  });

  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it('answers a guarded request of a user who read its guard’s flag from the fallback, as before', async () => {
    // The route learns `checkout` from another user's requests; `u` only ever read `beta`.
    await get('/outage/more/yes', 'other').expect(200);
    await get('/outage/more/yes', 'other').expect(200);
    await get('/outage/guard', 'u').expect(200);
    await get('/outage/guard', 'u').expect(200);

    const held: ServerResponse[] = [];
    fake.answer = (response) => void held.push(response);
    let bound: NodeJS.Timeout | undefined;
    try {
      const answered = get('/outage/more/no', 'u').then((response) => response.status);
      // fallbackAfterMs is 50 ms: two seconds is far past it, far short of PostHog's timeout (60 s).
      const late = new Promise<'waited for PostHog'>((resolve) => {
        bound = setTimeout(resolve, 2000, 'waited for PostHog');
      });
      expect(await Promise.race([answered, late])).toBe(200);
    } finally {
      clearTimeout(bound);
      fake.answer = 'flags';
      for (const response of held) response.writeHead(503).end();
    }
  });
});
