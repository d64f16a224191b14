import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FeatureFlag, FlagsModule, FlagsService } from '../src/index.js';
import { FakePostHog, STANDARD_FLAGS } from './support/fake-posthog.js';
import { TEST_API_KEY, userFromHeader } from './support/flags-app.js';
import { initApp } from './support/guarded-app.js';

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
    const moduleRef = await Test.createTestingModule({
      imports: [
        FlagsModule.forRoot({
          apiKey: TEST_API_KEY,
          host: fake.url,
          retries: 0,
          cacheUrl: 'memory://local?fresh=600',
          contextFactory: userFromHeader,
        }),
      ],
      controllers: [FreshController],
    }).compile();
    app = await initApp(moduleRef, 'express');
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
