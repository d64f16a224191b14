import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Module,
  type INestApplication,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FeatureFlag, FlagsModule, FlagsService } from '../src/index.js';
import type { FakePostHog } from '../src/testing/index.js';
import { startStandardPostHog } from './support/fake-posthog.js';
import { TEST_API_KEY, userFromHeader } from './support/flags-app.js';
import { initApp } from './support/guarded-app.js';

/** An application's middleware reading a kill switch for the request's user, before any guard. */
@Injectable()
class KillSwitchMiddleware implements NestMiddleware {
  constructor(private readonly flags: FlagsService) {}

  async use(req: { headers: Record<string, string> }, _res: unknown, next: () => void) {
    await this.flags.isEnabled('dark-mode', req.headers['x-user']);
    next();
  }
}

@Controller('mw')
class GuardedController {
  @Get()
  @FeatureFlag('beta')
  guarded() {
    return { ok: true };
  }
}

describe('a request whose middleware reads a flag before its route is known', () => {
  let fake: FakePostHog;
  let app: INestApplication;
  let user = 0;
  const get = () => request(app.getHttpServer()).get('/mw').set('x-user', `mw-user-${++user}`).expect(200);

  beforeAll(async () => {
    fake = await startStandardPostHog();
    @Module({
      imports: [
        FlagsModule.forRoot({
          apiKey: TEST_API_KEY,
          host: fake.url,
          retries: 0,
          contextFactory: userFromHeader,
        }),
      ],
      controllers: [GuardedController],
      providers: [KillSwitchMiddleware],
    })
    class AppModule implements NestModule {
      configure(consumer: MiddlewareConsumer) {
        consumer.apply(KillSwitchMiddleware).forRoutes('*');
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = await initApp(moduleRef, 'express');
  });

  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  it('asks PostHog once per request, as when its snapshot asked every flag', async () => {
    await get();
    await get();
    const before = fake.requests.length;
    await get();
    expect(fake.requests.length - before).toBe(1);
  });
});
