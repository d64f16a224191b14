import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FlagsModule, FlagsService } from '../src/index.js';
import { FakePostHog, STANDARD_FLAGS } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { initApp } from './support/guarded-app.js';

@Controller('geoip')
class GeoipController {
  constructor(private readonly flags: FlagsService) {}

  /** The request's evaluation, then one asking PostHog with GeoIP on, both without a context. */
  @Get()
  async both() {
    const usual = await this.flags.evaluateFlags();
    const located = await this.flags.evaluateFlags(undefined, { disableGeoip: false });
    const again = await this.flags.evaluateFlags();
    return { sameAsRequest: located === usual, requestKept: again === usual, keys: located.keys.sort() };
  }
}

describe('disableGeoip inside a request', () => {
  let fake: FakePostHog;
  let app: INestApplication;

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.setFlags(STANDARD_FLAGS);
    const moduleRef = await Test.createTestingModule({
      imports: [
        FlagsModule.forRoot({
          apiKey: TEST_API_KEY,
          host: fake.url,
          retries: 0,
          contextFactory: () => ({ distinctId: 'u-request-geoip' }),
        }),
      ],
      controllers: [GeoipController],
    }).compile();
    app = await initApp(moduleRef, 'express');
  });

  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it("gives a call with its own setting an evaluation of its own, not the request's", async () => {
    const before = fake.requests.length;
    const response = await request(app.getHttpServer()).get('/geoip').expect(200);
    expect(response.body).toEqual({ sameAsRequest: false, requestKept: true, keys: ['beta', 'checkout', 'dark-mode'] });
    const asked = fake.requests.slice(before).map((recorded) => recorded.body.geoip_disable);
    expect(asked).toEqual([true, false]);
  });
});
