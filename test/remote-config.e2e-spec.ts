import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { PostHog } from 'posthog-node';
import type { FlagsModuleOptions } from '../src/index.js';
import { FakePostHog } from '../src/testing/index.js';
import { eventually } from './support/eventually.js';
import { startFlags, type FlagsHarness } from './support/flags-app.js';
import { invalidateVersion, readAsPython } from './support/python-invalidation.js';
import { RedisServer } from './support/redis-server.js';

/** The keys both clients use: neither may appear in a log line or an error. */
const API_KEY = 'phc_remote_Config_Project_Key_0001';
const SECRET_KEY = 'phs_remote_Config_Secret_Key_0002';

/** What the fake answers: each body as PostHog sends it (a payload is stored, and sent, as a JSON string). */
const PAYLOADS: Record<string, unknown> = {
  banner: JSON.stringify({ title: 'Sale', colors: ['red', 'gold'] }),
  limit: JSON.stringify(42),
  greeting: 'plain text, not JSON',
  'as-object': { already: 'parsed' },
  nothing: null,
};

describe('FlagsService.getRemoteConfigPayload', () => {
  let fake: FakePostHog;
  const harnesses: FlagsHarness[] = [];

  const start = async (options: FlagsModuleOptions = {}): Promise<FlagsHarness> => {
    const harness = await startFlags({
      apiKey: API_KEY,
      host: fake.url,
      secretKey: SECRET_KEY,
      retries: 0,
      ...options,
    });
    harnesses.push(harness);
    return harness;
  };

  /** Every log line and the given errors, as one text to search for keys. */
  const exposedText = (harness: FlagsHarness, ...errors: unknown[]) =>
    [harness.logs.text, ...errors.map((error) => `${(error as Error).message} ${(error as Error).stack}`)].join('\n');

  beforeAll(async () => {
    fake = await FakePostHog.start();
  });
  beforeEach(async () => {
    await fake.reset();
    for (const [key, payload] of Object.entries(PAYLOADS)) fake.setRemoteConfig(key, payload);
  });
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((harness) => harness.moduleRef.close()));
  });
  afterAll(() => fake.close());

  it("asks and answers as posthog-node's getRemoteConfigPayload does (differential)", async () => {
    const posthog = new PostHog(API_KEY, {
      host: fake.url,
      personalApiKey: SECRET_KEY,
      enableLocalEvaluation: false,
      flushAt: 10_000,
    });
    try {
      const keys = [...Object.keys(PAYLOADS), 'missing'];
      const theirs: unknown[] = [];
      for (const key of keys) theirs.push(await posthog.getRemoteConfigPayload(key));
      const theirRequests = fake.remoteConfigRequests.splice(0);

      const { flags } = await start({ localEvaluation: false });
      const ours: unknown[] = [];
      for (const key of keys) ours.push(await flags.getRemoteConfigPayload(key));

      // posthog-node hands back the body of a 404 (PostHog's error object); this module: no payload.
      expect(ours).toEqual([...theirs.slice(0, -1), undefined]);
      expect(theirs.slice(0, 3)).toEqual([{ title: 'Sale', colors: ['red', 'gold'] }, 42, 'plain text, not JSON']);
      expect(theirs.slice(3, 5)).toEqual([{ already: 'parsed' }, null]);
      const seen = (requests: typeof theirRequests) =>
        requests.map(({ url, key, token, headers }) => ({
          url,
          key,
          token,
          authorization: headers.authorization,
          contentType: headers['content-type'],
        }));
      expect(seen(fake.remoteConfigRequests)).toEqual(seen(theirRequests));
      expect(seen(theirRequests)[0]).toEqual({
        url: `/api/projects/@current/feature_flags/banner/remote_config?token=${API_KEY}`,
        key: 'banner',
        token: API_KEY,
        authorization: `Bearer ${SECRET_KEY}`,
        contentType: 'application/json',
      });
    } finally {
      await posthog.shutdown();
    }
  });

  it('percent-encodes a key with odd characters; refuses an empty, overlong or ill-formed key at the call', async () => {
    const odd = 'a/b?c=1&token=x#frag %é../';
    fake.setRemoteConfig(odd, JSON.stringify({ odd: true }));
    const { flags } = await start();
    expect(await flags.getRemoteConfigPayload(odd)).toEqual({ odd: true });
    expect(fake.remoteConfigRequests).toEqual([
      expect.objectContaining({
        key: odd,
        token: API_KEY,
        url: `/api/projects/@current/feature_flags/${encodeURIComponent(odd).replaceAll('.', '%2E')}/remote_config?token=${API_KEY}`,
      }),
    ]);
    // Dot segments: a proxy would resolve `..` into another API path. Every dot goes encoded; `.` and `..`
    // (never a flag key: letters, digits, `-` and `_` only) are not asked at all, `%2E%2E` being one too to a URL
    // parser.
    fake.setRemoteConfig('.v1.', JSON.stringify('dots'));
    expect(await flags.getRemoteConfigPayload('.v1.')).toBe('dots');
    expect(await flags.getRemoteConfigPayload('..')).toBeUndefined();
    expect(await flags.getRemoteConfigPayload('.')).toBeUndefined();
    expect(fake.remoteConfigRequests.slice(1).map(({ key, url }) => [key, url.split('?')[0]])).toEqual([
      ['.v1.', '/api/projects/@current/feature_flags/%2Ev1%2E/remote_config'],
    ]);
    fake.remoteConfigRequests.length = 0;
    for (const bad of ['', 'k'.repeat(401), 'bad\uD800key', 42]) {
      await expect(flags.getRemoteConfigPayload(bad as string)).rejects.toThrow(TypeError);
    }
    expect(await flags.getRemoteConfigPayload('k'.repeat(400))).toBeUndefined();
    expect(fake.remoteConfigRequests).toHaveLength(1);
  });

  it('without a secret key: a clear error at the call naming the option, nothing sent', async () => {
    const harness = await start({ secretKey: undefined });
    const error = await harness.flags.getRemoteConfigPayload('banner').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'FlagsConfigError' });
    expect((error as Error).message).toMatch(/secretKey/);
    expect((error as Error).message).toMatch(/POSTHOG_SECRET_KEY/);
    expect(fake.remoteConfigRequests).toEqual([]);
    expect(exposedText(harness, error)).not.toContain(API_KEY);
  });

  it('offline (no API key): undefined, nothing sent', async () => {
    const { flags } = await start({ apiKey: '', overrides: { beta: true } });
    expect(await flags.getRemoteConfigPayload('banner')).toBeUndefined();
    expect(fake.remoteConfigRequests).toEqual([]);
  });

  it('concurrent calls for one key share one request, each caller getting its own copy', async () => {
    const { flags } = await start();
    const [first, second] = await Promise.all([
      flags.getRemoteConfigPayload('banner'),
      flags.getRemoteConfigPayload('banner'),
    ]);
    expect(first).toEqual({ title: 'Sale', colors: ['red', 'gold'] });
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(fake.remoteConfigRequests).toHaveLength(1);
  });

  it('PostHog failing: the last good payload from memory://, a fresh copy each time; keys never logged', async () => {
    // The breaker off: each outage is met by a request of its own.
    const harness = await start({ cacheUrl: 'memory://', circuitBreaker: false });
    const { flags } = harness;
    const first = await flags.getRemoteConfigPayload<{ title: string }>('banner');
    first!.title = 'changed by a caller';
    expect(await flags.getRemoteConfigPayload('missing')).toBeUndefined();
    for (const outage of ['hanging', 500, 401, 'down'] as const) {
      await fake.setOutage(outage);
      expect(await flags.getRemoteConfigPayload('banner')).toEqual({ title: 'Sale', colors: ['red', 'gold'] });
      expect(await flags.getRemoteConfigPayload('missing')).toBeUndefined();
      expect(await flags.getRemoteConfigPayload('limit')).toBeUndefined();
    }
    await fake.setOutage(undefined);
    expect(harness.logs.at('warn').join('\n')).toMatch(/remote_config failed \(timeout\)/);
    expect(fake.remoteConfigRequests.map((request) => request.key)).toEqual([
      'banner',
      'missing',
      ...['hanging', 500, 401].flatMap(() => ['banner', 'missing', 'limit']),
    ]);
    expect(exposedText(harness)).not.toContain(API_KEY);
    expect(exposedText(harness)).not.toContain(SECRET_KEY);
  });

  it('keys PostHog has no flag for take no entry: 1,000 of them leave the payloads kept in memory://', async () => {
    const { flags } = await start({ cacheUrl: 'memory://', circuitBreaker: false });
    expect(await flags.getRemoteConfigPayload('limit')).toBe(42);
    for (let i = 0; i < 1000; i++) expect(await flags.getRemoteConfigPayload(`junk-${i}`)).toBeUndefined();
    await fake.setOutage(503);
    expect(await flags.getRemoteConfigPayload('limit')).toBe(42);
  });

  it("retries as PostHog's policy says (a 502, not a 500); after close, the cached payload without a request", async () => {
    const harness = await start({ retries: 1, circuitBreaker: false });
    const { flags } = harness;
    expect(await flags.getRemoteConfigPayload('limit')).toBe(42);
    await fake.setOutage(502);
    expect(await flags.getRemoteConfigPayload('limit')).toBe(42);
    await fake.setOutage(500);
    expect(await flags.getRemoteConfigPayload('limit')).toBe(42);
    expect(fake.remoteConfigRequests).toHaveLength(1 + 2 + 1);
    await fake.setOutage(undefined);

    harnesses.splice(harnesses.indexOf(harness), 1);
    await harness.moduleRef.close();
    expect(await flags.getRemoteConfigPayload('limit')).toBe(42);
    expect(await flags.getRemoteConfigPayload('banner')).toBeUndefined();
    expect(fake.remoteConfigRequests).toHaveLength(4);
  });

  it('a 401 says to check the secret key, without it; a redirect is refused, not followed', async () => {
    await fake.setOutage(401);
    const harness = await start({ circuitBreaker: false });
    expect(await harness.flags.getRemoteConfigPayload('banner')).toBeUndefined();
    expect(harness.logs.at('warn').join('\n')).toMatch(/http_401.*secretKey or POSTHOG_SECRET_KEY/);
    await fake.setOutage(undefined);

    const redirecting: Server = createServer((request, response) => {
      response.writeHead(307, { Location: `${fake.url}${request.url}` }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const port = (redirecting.address() as AddressInfo).port;
      const redirected = await start({ host: `http://127.0.0.1:${port}` });
      expect(await redirected.flags.getRemoteConfigPayload('banner')).toBeUndefined();
      expect(fake.remoteConfigRequests.filter((request) => request.headers.authorization)).toHaveLength(1);
      expect(exposedText(redirected)).not.toContain(SECRET_KEY);
    } finally {
      redirecting.closeAllConnections();
      await new Promise((resolve) => redirecting.close(resolve));
    }
  });

  describe('with a real redis-server', () => {
    let redis: RedisServer;
    let inspect: Redis;

    beforeAll(async () => {
      redis = await RedisServer.start();
      inspect = new Redis({ port: redis.port, lazyConnect: true });
      await inspect.connect();
    });
    afterAll(async () => {
      inspect.disconnect();
      await redis.stop();
    });

    it("serves the last good payload to another instance while PostHog is down; Python's scan leaves the entry", async () => {
      const prefix = 'rc:flags:';
      const cacheUrl = redis.url(`prefix=${prefix}`);
      const writer = await start({ cacheUrl });
      expect(await writer.flags.getRemoteConfigPayload('banner')).toEqual({ title: 'Sale', colors: ['red', 'gold'] });
      expect(await writer.flags.getRemoteConfigPayload('greeting')).toBe('plain text, not JSON');
      const key = `${prefix}remote-config.banner`;
      const raw = await eventually(() => inspect.get(key), key);
      await eventually(() => inspect.get(`${prefix}remote-config.greeting`), 'the greeting entry');
      expect(JSON.parse(raw)).toEqual({
        remote_config_key: 'banner',
        payload: { title: 'Sale', colors: ['red', 'gold'] },
        saved_at: expect.any(Number),
      });
      expect(await inspect.ttl(key)).toBeGreaterThan(3500);
      // posthog-python's reader takes it for no entry, and its invalidation scan runs through it and leaves it.
      expect(readAsPython(raw)).toBeUndefined();
      for (const counter of [0, 1, 2]) expect(await invalidateVersion(inspect, prefix, counter)).toBe('complete');
      expect(await inspect.get(key)).toBe(raw);

      await fake.setOutage('down');
      const reader = await start({ cacheUrl });
      expect(await reader.flags.getRemoteConfigPayload('banner')).toEqual({ title: 'Sale', colors: ['red', 'gold'] });
      expect(await reader.flags.getRemoteConfigPayload('greeting')).toBe('plain text, not JSON');
      expect(await reader.flags.getRemoteConfigPayload('limit')).toBeUndefined();
      await fake.setOutage(undefined);
      expect(exposedText(reader)).not.toContain(SECRET_KEY);
    });

    it('a 404 takes no entry, but overwrites a payload kept before: the fallback never serves a removed one', async () => {
      const prefix = 'rc404:flags:';
      const { flags } = await start({ cacheUrl: redis.url(`prefix=${prefix}`), circuitBreaker: false });
      expect(await flags.getRemoteConfigPayload('missing')).toBeUndefined();
      expect(await flags.getRemoteConfigPayload('limit')).toBe(42);
      const entry = `${prefix}remote-config.limit`;
      await eventually(() => inspect.get(entry), entry);
      fake.setRemoteConfig('limit', undefined);
      expect(await flags.getRemoteConfigPayload('limit')).toBeUndefined();
      await eventually(async () => !('payload' in JSON.parse((await inspect.get(entry))!)) || undefined, 'overwrite');
      await fake.setOutage(503);
      expect(await flags.getRemoteConfigPayload('limit')).toBeUndefined();
      await fake.setOutage(undefined);
      expect(await inspect.keys(`${prefix}remote-config.*`)).toEqual([entry]);
    });
  });
});
