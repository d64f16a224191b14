import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FeatureFlag, FlagsService } from '../src/index.js';
import { FakePostHog, STANDARD_FLAGS } from './support/fake-posthog.js';
import { startRouteApp } from './support/guarded-app.js';

/** A guarded route reading `checkout`, and the flag its path names (a key from outside) unless `none`. */
@Controller('fresh')
class FreshController {
  constructor(private readonly flags: FlagsService) {}

  @Get(':extra')
  @FeatureFlag('beta')
  async route(@Param('extra') extra: string) {
    const checkout = await this.flags.getFlag('checkout');
    return extra === 'none' ? { checkout } : { checkout, extra: (await this.flags.getFlag(extra)) ?? null };
  }
}

describe('a route asking for its flags, with the cache-first window (fresh)', () => {
  let fake: FakePostHog;
  let app: INestApplication;
  const get = (path: string, distinctId: string) =>
    request(app.getHttpServer()).get(path).set('x-user', distinctId).expect(200);
  /** How many `/flags` calls were made while `run` ran. */
  const callsDuring = async (run: () => Promise<unknown>): Promise<number> => {
    const before = fake.requests.length;
    await run();
    return fake.requests.length - before;
  };

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.setFlags(STANDARD_FLAGS);
    app = await startRouteApp(fake.url, [FreshController], { cacheUrl: 'memory://local?fresh=600' });
  });

  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it('keeps answering a user’s requests from the cache after a request named a flag that does not exist', async () => {
    await get('/fresh/none', 'u');
    expect(await callsDuring(() => get('/fresh/none', 'u'))).toBe(0);

    // One request (anyone's) names a key PostHog does not know: the route learns it.
    await get('/fresh/no-such-flag', 'someone');

    await get('/fresh/none', 'u');
    expect(await callsDuring(() => get('/fresh/none', 'u'))).toBe(0);
  });
});
