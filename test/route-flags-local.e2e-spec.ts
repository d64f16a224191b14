import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FeatureFlag, FlagsService } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { standardDefinitions, TEST_SECRET_KEY } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog, keysAskedWhile } from './support/fake-posthog.js';
import { startRouteApp } from './support/guarded-app.js';

/** Guarded routes of a project evaluated locally: `beta` and `checkout` decided, `continuity` left to PostHog. */
@Controller('local')
class LocalRouteController {
  constructor(private readonly flags: FlagsService) {}

  @Get('guard')
  @FeatureFlag('beta')
  guard() {
    return { ok: true };
  }

  @Get('reads')
  @FeatureFlag('beta')
  async reads() {
    const checkout = await this.flags.getFlagResult('checkout');
    const continuity = await this.flags.getFlagResult('continuity');
    return { checkout: checkout?.source, continuity: continuity?.source };
  }
}

describe("a route's snapshot under local evaluation: the remembered answer kept whole", () => {
  let fake: FakePostHog;
  let app: INestApplication;
  let flags: FlagsService;
  const logs = new CaptureLogger();
  const get = (path: string, distinctId: string) =>
    request(app.getHttpServer()).get(path).set('x-user', distinctId).expect(200);
  const asked = (run: () => Promise<unknown>) => keysAskedWhile(fake, run);

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.definitions = standardDefinitions();
    fake.setFlags({ 'pro-only': { enabled: true }, continuity: { enabled: true } });
    app = await startRouteApp(fake.url, [LocalRouteController], { secretKey: TEST_SECRET_KEY }, logs);
    flags = app.get(FlagsService);
    await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions to load');
  });

  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it('answers a user seen before from the remembered answer, asking nothing and counting only the flag read', async () => {
    await get('/local/guard', 'seen-1');
    await get('/local/guard', 'seen-1');
    const counts = flags.status().counts;
    expect(await asked(() => get('/local/guard', 'seen-1'))).toEqual([]);
    expect(flags.status().counts).toEqual({ ...counts, local: counts.local + 1 });
  });

  it('answers a flag the route never read from the answer (local), and asks PostHog only what it cannot decide', async () => {
    await get('/local/reads', 'seen-2');
    await get('/local/reads', 'seen-2');
    let body: unknown;
    expect(await asked(async () => ({ body } = await get('/local/reads', 'seen-2')))).toEqual([['continuity']]);
    expect(body).toEqual({ checkout: 'local', continuity: 'remote' });
  });

  it('logs no warning or error for any of it', () => {
    expect([...logs.at('warn'), ...logs.at('error')]).toEqual([]);
  });
});
