import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, Req, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test, type TestingModule } from '@nestjs/testing';
import request from 'supertest';
import { FlagEvaluations, FeatureFlag, Flags, FlagsModule, FlagsService } from '../src/index.js';
import { FlagsOverrides, FlagsTestingModule } from '../src/testing/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import type { Platform } from './support/guarded-app.js';

/** The application under test: a guarded route, `@Flags()`, and a service call; `x-user` is the user. */
@Controller('app')
class AppController {
  constructor(private readonly flags: FlagsService) {}

  @Get('beta')
  @FeatureFlag('beta')
  beta(@Flags() flags: FlagEvaluations) {
    return { flags: Object.fromEntries(flags.toMap()) };
  }

  @Get('bootstrap')
  @FeatureFlag('beta')
  bootstrap(@Req() request: { headers: Record<string, string> }) {
    return this.flags.bootstrap(request.headers['x-user']!);
  }
}

/** The app's own registration, exported so that a test can override exactly it. */
export const appFlagsModule = FlagsModule.forRoot({
  apiKey: 'phc_never_used_in_these_tests',
  host: 'http://127.0.0.1:9',
  contextFactory: (context) => context.switchToHttp().getRequest().headers['x-user'],
});

@Module({ imports: [appFlagsModule], controllers: [AppController] })
class AppModule {}

/** Whom the guard evaluates for in these apps: the `x-user` header. */
const byHeader = {
  contextFactory: (context: ExecutionContext) => context.switchToHttp().getRequest().headers['x-user'],
};

describe.each<Platform>(['express', 'fastify'])('FlagsTestingModule on %s', (platform) => {
  const apps: INestApplication[] = [];

  async function start(moduleRef: TestingModule): Promise<INestApplication> {
    const app =
      platform === 'express'
        ? moduleRef.createNestApplication({ logger: false })
        : moduleRef.createNestApplication(new FastifyAdapter(), { logger: false });
    apps.push(app);
    await app.init();
    if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
    return app;
  }

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('drives the real guard, @Flags() and the service, with per-user values and set() between requests', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        FlagsTestingModule.forRoot(
          {
            beta: ({ distinctId }) => distinctId !== 'outsider',
            checkout: { value: 'test', payload: { discount: 10 } },
          },
          byHeader,
        ),
      ],
      controllers: [AppController],
    }).compile();
    const app = await start(moduleRef);
    const get = (path: string, user?: string) =>
      user ? request(app.getHttpServer()).get(path).set('x-user', user) : request(app.getHttpServer()).get(path);

    const allowed = await get('/app/beta', 'user-1').expect(200);
    expect(allowed.body.flags.beta).toMatchObject({ key: 'beta', enabled: true, source: 'override' });
    expect(allowed.body.flags.checkout).toMatchObject({ variant: 'test', payload: { discount: 10 } });
    await get('/app/beta', 'outsider').expect(404);
    await get('/app/beta').expect(404);

    const overrides = moduleRef.get(FlagsOverrides);
    overrides.set('beta', false);
    await get('/app/beta', 'user-1').expect(404);
    overrides.reset();
    await get('/app/beta', 'user-1').expect(200);
    expect(await moduleRef.get(FlagsService).getFlagResult('unknown-flag', 'user-1')).toBeUndefined();
  });

  it("replaces the app's own FlagsModule registration with overrideModule", async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideModule(appFlagsModule)
      .useModule(FlagsTestingModule.forRoot({ beta: true }, byHeader))
      .compile();
    const app = await start(moduleRef);
    const response = await request(app.getHttpServer()).get('/app/bootstrap').set('x-user', 'user-1').expect(200);
    expect(response.body).toEqual({ distinctID: 'user-1', featureFlags: { beta: true }, featureFlagPayloads: {} });
  });
});

describe('overrides and bootstrap with a real PostHog stand-in', () => {
  const fake = useFakePostHog();
  const { start } = useStartedFlags(fake);
  const savedEnv = { ...process.env };

  afterEach(() => {
    process.env = { ...savedEnv };
  });

  it.each([
    ['the option', { overrides: { beta: false, checkout: 'control' } }, {}],
    ['POSTHOG_FLAG_OVERRIDES', {}, { POSTHOG_FLAG_OVERRIDES: 'beta=false, checkout=control' }],
  ])('apply from %s over remote, cache and fallback answers, and warn once at startup', async (_from, options, env) => {
    Object.assign(process.env, env);
    const logs = new CaptureLogger();
    const { flags } = await start({ cacheUrl: 'memory://local?fresh=60', ...options }, logs);
    const expected = { beta: false, checkout: 'control', 'dark-mode': false };
    expect(await flags.getAllFlags('user-1')).toEqual(expected);
    expect(await flags.getFlagResult('beta', 'user-1')).toMatchObject({ enabled: false, source: 'override' });
    expect((await flags.getFlagResult('dark-mode', 'user-1'))?.source).toBe('cache');
    fake.answer = 503;
    expect(await flags.getAllFlags('user-2')).toEqual({ beta: false, checkout: 'control' });
    expect(await flags.getFlag('checkout', 'user-3')).toBe('control');
    const warnings = logs.at('warn').filter((line) => line.includes('overridden'));
    expect(warnings).toEqual([expect.stringMatching(/overridden for every user by .*: beta, checkout/)]);
  });

  it('starts offline with overrides and no API key: overridden flags known, the rest unknown, nothing asked', async () => {
    delete process.env.POSTHOG_API_KEY;
    process.env.POSTHOG_FLAG_OVERRIDES = 'new-checkout=true';
    const logs = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({ imports: [FlagsModule.forRoot({ host: fake.url })] })
      .setLogger(logs)
      .compile();
    await moduleRef.init();
    try {
      const flags = moduleRef.get(FlagsService);
      const before = fake.requests.length;
      expect(await flags.isEnabled('new-checkout', 'user-1')).toBe(true);
      expect(await flags.getFlagResult('beta', 'user-1')).toBeUndefined();
      expect(await flags.getAllFlags('user-1')).toEqual({ 'new-checkout': true });
      expect(fake.requests.length).toBe(before);
      expect(logs.at('warn')).toContainEqual(expect.stringContaining('running offline'));
    } finally {
      await moduleRef.close();
    }
  });

  it('rejects a malformed POSTHOG_FLAG_OVERRIDES at startup', async () => {
    process.env.POSTHOG_FLAG_OVERRIDES = 'beta';
    await expect(start({ apiKey: TEST_API_KEY })).rejects.toThrow(/POSTHOG_FLAG_OVERRIDES: "beta" is not key=value/);
  });

  it("gives posthog-js's bootstrap shape, payloads parsed, from the guarded request's own evaluation", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [FlagsModule.forRoot({ apiKey: TEST_API_KEY, host: fake.url, retries: 0, ...byHeader })],
      controllers: [AppController],
    })
      .setLogger(new CaptureLogger())
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const before = fake.requests.length;
      const response = await request(app.getHttpServer()).get('/app/bootstrap').set('x-user', 'user-1').expect(200);
      expect(response.body).toEqual({
        distinctID: 'user-1',
        featureFlags: { beta: true, checkout: 'test', 'dark-mode': false },
        featureFlagPayloads: { beta: { color: 'blue' } },
      });
      expect(fake.requests.length - before).toBe(1);
    } finally {
      await app.close();
    }
  });
});
