import 'reflect-metadata';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FlagsModule, FlagsService } from '../src/index.js';
import { MAX_SHARED_CONTEXTS } from '../src/request/context-snapshots.js';
import type { FakePostHog } from '../src/testing/index.js';
import { startStandardPostHog } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { initApp } from './support/guarded-app.js';

/** More users than a request shares snapshots for. */
const USERS = MAX_SHARED_CONTEXTS + 8;

@Controller('loop')
class LoopController {
  constructor(private readonly flags: FlagsService) {}

  /** The request's own flag, a flag for each of many users, then the first and last user and its own again. */
  @Get()
  async loop() {
    await this.flags.isEnabled('beta');
    for (let user = 0; user < USERS; user++) await this.flags.isEnabled('beta', `user-${user}`);
    await this.flags.isEnabled('beta', 'user-0');
    await this.flags.isEnabled('beta', `user-${USERS - 1}`);
    return { own: await this.flags.isEnabled('beta') };
  }
}

let fake: FakePostHog;
let app: INestApplication;

beforeAll(async () => {
  fake = await startStandardPostHog();
  const moduleRef = await Test.createTestingModule({
    imports: [
      FlagsModule.forRoot({
        apiKey: TEST_API_KEY,
        host: fake.url,
        retries: 0,
        sendFeatureFlagEvents: false,
        contextFactory: () => ({ distinctId: 'owner' }),
      }),
    ],
    controllers: [LoopController],
  }).compile();
  app = await initApp(moduleRef, 'express');
});

afterAll(async () => {
  await app.close();
  await fake.close();
});

it('shares the first contexts a request names; past them a call evaluates on its own, the request’s own kept', async () => {
  const response = await request(app.getHttpServer()).get('/loop').expect(200);
  expect(response.body).toEqual({ own: true });
  const calls = (distinctId: string) => fake.requests.filter((sent) => sent.body.distinct_id === distinctId).length;
  expect(calls('owner')).toBe(1);
  expect(calls('user-0')).toBe(1);
  expect(calls(`user-${MAX_SHARED_CONTEXTS - 1}`)).toBe(1);
  expect(calls(`user-${USERS - 1}`)).toBe(2);
});
