import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Inject, Injectable, Module } from '@nestjs/common';
import { FLAGS_CONFIG } from '../src/flags.constants.js';
import { Test } from '@nestjs/testing';
import {
  FlagsConfigError,
  FlagsModule,
  FlagsService,
  type FlagsModuleOptions,
  type FlagsOptionsFactory,
} from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { ONLY_DATE } from './support/clock.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY } from './support/flags-app.js';

const ENV_KEYS = ['POSTHOG_API_KEY', 'POSTHOG_HOST', 'FLAGS_CACHE_URL'] as const;

describe('FlagsModule registration and configuration', () => {
  let fake: FakePostHog;
  const savedEnv = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.setFlags({ beta: { enabled: true } });
  });

  afterEach(() => {
    for (const key of ENV_KEYS) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
    jest.useRealTimers();
  });

  afterAll(async () => {
    await fake.stop();
  });

  /** Compiles an app importing `module`, evaluates beta for user-1, closes it; returns the answer. */
  async function betaFor(module: ReturnType<typeof FlagsModule.forRoot>): Promise<boolean> {
    const moduleRef = await Test.createTestingModule({ imports: [module] })
      .setLogger(new CaptureLogger())
      .compile();
    try {
      return await moduleRef.get(FlagsService).isEnabled('beta', 'user-1');
    } finally {
      await moduleRef.close();
    }
  }

  it('forRoot() takes everything from the environment', async () => {
    process.env.POSTHOG_API_KEY = TEST_API_KEY;
    process.env.POSTHOG_HOST = fake.url;
    process.env.FLAGS_CACHE_URL = 'memory://local?ttl=60';
    const before = fake.requests.length;
    expect(await betaFor(FlagsModule.forRoot())).toBe(true);
    expect(fake.requests.slice(before)[0].body.token).toBe(TEST_API_KEY);
  });

  it('forRoot(url) takes the cache URL and the rest from the environment', async () => {
    process.env.POSTHOG_API_KEY = TEST_API_KEY;
    process.env.POSTHOG_HOST = fake.url;
    expect(await betaFor(FlagsModule.forRoot('memory://?size=5'))).toBe(true);
    await expect(betaFor(FlagsModule.forRoot('memory://?size=zero'))).rejects.toThrow(/size/);
  });

  it('forRootAsync builds the options from an injected config provider', async () => {
    @Injectable()
    class AppConfig {
      readonly posthog = { apiKey: TEST_API_KEY, host: fake.url, cacheUrl: 'memory://local?ttl=120' };
    }
    @Module({ providers: [AppConfig], exports: [AppConfig] })
    class AppConfigModule {}

    const before = fake.requests.length;
    const module = FlagsModule.forRootAsync({
      imports: [AppConfigModule],
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => config.posthog,
    });
    expect(await betaFor(module)).toBe(true);
    expect(fake.requests.length - before).toBe(1);
  });

  it('is global by default and module-scoped with isGlobal: false', () => {
    expect(FlagsModule.forRoot({ apiKey: TEST_API_KEY }).global).toBe(true);
    expect(FlagsModule.forRoot({ apiKey: TEST_API_KEY, isGlobal: false }).global).toBe(false);
    expect(FlagsModule.forRootAsync({ useFactory: () => ({}), isGlobal: false }).global).toBe(false);
  });

  it('fails at startup naming POSTHOG_API_KEY when no key is given anywhere', async () => {
    delete process.env.POSTHOG_API_KEY;
    await expect(betaFor(FlagsModule.forRoot({ host: fake.url }))).rejects.toThrow(/POSTHOG_API_KEY/);
  });

  it.each([
    ['mysql://db/0', /unsupported scheme "mysql:"; supported: memory:\/\/, redis:\/\/, rediss:\/\//],
    ['not a url', /not a URL/],
    ['memory://local?ttl=abc', /"ttl" must be an integer at least 1 \(seconds\), got "abc"/],
    ['memory://local?ttl=0', /"ttl" must be an integer at least 1/],
    ['memory://local?ttl=1.5', /"ttl" must be an integer at least 1/],
    ['memory://local?size=-1', /"size" must be an integer at least 1 \(distinct ids\)/],
    ['memory://local?ttl=60&ttl=70', /"ttl" is given 2 times/],
    [
      'memory://local?tll=60',
      /unknown parameter "tll"; accepted: ttl, fresh, keep, size, maxBytes, snapshot, snapshotMaxBytes$/,
    ],
    ['memory://elsewhere', /takes no host/],
  ])('fails at startup on the cache URL %s', async (url, message) => {
    await expect(betaFor(FlagsModule.forRoot({ apiKey: TEST_API_KEY, host: fake.url, cacheUrl: url }))).rejects.toThrow(
      message,
    );
  });

  it('masks the password of a bad cache URL in the error', async () => {
    const attempt = betaFor(
      FlagsModule.forRoot({ apiKey: TEST_API_KEY, host: fake.url, cacheUrl: 'mysql://admin:hunter2@db:3306/0' }),
    );
    await expect(attempt).rejects.toThrow('"mysql://admin:***@db:3306/0"');
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });

  it.each([
    [{ timeoutMs: 0 }, /timeoutMs must be an integer from 1 to \d+ \(milliseconds\), got 0/],
    [{ timeoutMs: '1.5' }, /timeoutMs must be an integer .*, got "1.5"/],
    [{ timeoutMs: true }, /timeoutMs must be an integer .*, got a boolean/],
    [{ retries: 11 }, /retries must be an integer from 0 to 10/],
    [{ host: 'ftp://example.com' }, /host must be an http/],
    [{ host: 42 }, /host must be a string, got a number/],
    [{ host: 'https://eu.i.posthog.com:eu' }, /the port must be a number from 1 to 65535, got "eu"/],
    [{ apiKey: ['phc_secret'] }, /apiKey must be a string, got an array/],
    [{ cacheURL: 'memory://' }, /unknown option "cacheURL"; did you mean "cacheUrl"\?/],
    [{ timeout: 1500 }, /unknown option "timeout"; did you mean "timeoutMs"\?/],
    [
      { circuitBreaker: { threshold: 3 } },
      /unknown circuitBreaker option "threshold"; did you mean "failureThreshold"\?/,
    ],
    [{ circuitBreaker: 'off' }, /circuitBreaker must be an object or false, got a string/],
    [{ contextFactory: 'user' }, /contextFactory must be a function, got a string/],
    [{ exception: 404 }, /exception must be an Error/],
  ])('fails at startup on bad options %p, with a FlagsConfigError', async (options, message) => {
    const attempt = betaFor(FlagsModule.forRoot({ apiKey: TEST_API_KEY, host: fake.url, ...(options as object) }));
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toBeInstanceOf(FlagsConfigError);
    await expect(attempt).rejects.not.toThrow(/phc_secret/);
  });

  it('takes numbers given as digit strings, as ConfigService returns them', async () => {
    const options = {
      apiKey: TEST_API_KEY,
      host: fake.url,
      timeoutMs: '1500',
      retries: '0',
      maxConcurrentRequests: '8',
    };
    const moduleRef = await Test.createTestingModule({ imports: [FlagsModule.forRoot(options)] })
      .setLogger(new CaptureLogger())
      .compile();
    expect(moduleRef.get(FLAGS_CONFIG)).toMatchObject({ timeoutMs: 1500, retries: 0, maxConcurrentRequests: 8 });
    await moduleRef.close();
  });

  it('says where isGlobal goes when a factory returns it', async () => {
    const module = FlagsModule.forRootAsync({ useFactory: () => ({ apiKey: TEST_API_KEY, isGlobal: false }) as never });
    await expect(betaFor(module)).rejects.toThrow(/isGlobal goes beside useFactory/);
  });

  it('forRootAsync takes useClass and useExisting, with createFlagsOptions()', async () => {
    @Injectable()
    class FlagsConfig implements FlagsOptionsFactory {
      createFlagsOptions(): FlagsModuleOptions {
        return { apiKey: TEST_API_KEY, host: fake.url };
      }
    }
    @Module({ providers: [FlagsConfig], exports: [FlagsConfig] })
    class ConfigModule {}
    expect(await betaFor(FlagsModule.forRootAsync({ useClass: FlagsConfig }))).toBe(true);
    expect(await betaFor(FlagsModule.forRootAsync({ imports: [ConfigModule], useExisting: FlagsConfig }))).toBe(true);
  });

  it('exports what the application injects, never the configuration (it holds the keys)', async () => {
    @Injectable()
    class Uses {
      constructor(readonly flags: FlagsService) {}
    }
    @Injectable()
    class Peeks {
      constructor(@Inject(FLAGS_CONFIG) readonly config: unknown) {}
    }
    const root = FlagsModule.forRoot({ apiKey: TEST_API_KEY, host: fake.url });
    @Module({ providers: [Uses] })
    class Fine {}
    @Module({ providers: [Peeks] })
    class Nosy {}
    const moduleRef = await Test.createTestingModule({ imports: [root, Fine] })
      .setLogger(new CaptureLogger())
      .compile();
    expect(moduleRef.get(Uses).flags).toBeInstanceOf(FlagsService);
    await moduleRef.close();
    await expect(
      Test.createTestingModule({ imports: [root, Nosy] })
        .setLogger(new CaptureLogger())
        .compile(),
    ).rejects.toThrow(/resolve dependencies of the Peeks/);
  });

  it('says which class lacks createFlagsOptions(), the removed create() too', async () => {
    @Injectable()
    class NotAFactory {}
    await expect(betaFor(FlagsModule.forRootAsync({ useClass: NotAFactory as never }))).rejects.toThrow(
      'forRootAsync: NotAFactory (useClass / useExisting) has no createFlagsOptions() method',
    );
    @Injectable()
    class OlderFlagsConfig {
      create(): FlagsModuleOptions {
        return { apiKey: TEST_API_KEY, host: fake.url };
      }
    }
    await expect(betaFor(FlagsModule.forRootAsync({ useClass: OlderFlagsConfig as never }))).rejects.toThrow(
      'forRootAsync: OlderFlagsConfig (useClass / useExisting) has no createFlagsOptions() method',
    );
  });

  describe('memory cache limits', () => {
    it('evicts the least recently used distinct id beyond size', async () => {
      const { flags, moduleRef } = await startFlags({ host: fake.url, cacheUrl: 'memory://local?size=2' });
      try {
        for (const user of ['user-1', 'user-2', 'user-3']) await flags.isEnabled('beta', user);
        fake.answer = 503;
        expect(await flags.getFlagResult('beta', 'user-1')).toBeUndefined();
        expect((await flags.getFlagResult('beta', 'user-2'))?.source).toBe('fallback');
        expect((await flags.getFlagResult('beta', 'user-3'))?.source).toBe('fallback');
      } finally {
        fake.answer = 'flags';
        await moduleRef.close();
      }
    });

    it('stops serving an entry as a fallback once it is ttl seconds old', async () => {
      jest.useFakeTimers({ doNotFake: ONLY_DATE, now: Date.now() });
      const { flags, moduleRef } = await startFlags({ host: fake.url, cacheUrl: 'memory://local?ttl=60' });
      try {
        await flags.isEnabled('beta', 'user-1');
        fake.answer = 503;
        jest.setSystemTime(Date.now() + 59_000);
        expect((await flags.getFlagResult('beta', 'user-1'))?.source).toBe('fallback');
        jest.setSystemTime(Date.now() + 1_000);
        expect(await flags.getFlagResult('beta', 'user-1')).toBeUndefined();
        expect(await flags.isEnabled('beta', 'user-1')).toBe(false);
      } finally {
        fake.answer = 'flags';
        await moduleRef.close();
      }
    });
  });
});
