import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ForbiddenException, type ExecutionContext, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FeatureFlagGuard, FlagsService } from '../src/index.js';
import { FlagsOverrides } from '../src/testing/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { eventually } from './support/eventually.js';
import { FakePostHog, STANDARD_FLAGS } from './support/fake-posthog.js';
import { startGuardedApp, type Platform } from './support/guarded-app.js';

describe.each<Platform>(['express', 'fastify'])('@FeatureFlag on %s', (platform) => {
  let fake: FakePostHog;
  let app: INestApplication;
  const extraApps: INestApplication[] = [];

  const get = (path: string, user?: string, target = app) => {
    const call = request(target.getHttpServer()).get(path);
    return user ? call.set('x-test-user', user) : call;
  };

  beforeAll(async () => {
    fake = await FakePostHog.start();
    app = await startGuardedApp(platform, { host: fake.url });
  });

  beforeEach(() => {
    fake.setFlags(STANDARD_FLAGS);
    fake.answer = 'flags';
  });

  afterEach(async () => {
    await Promise.all(extraApps.splice(0).map((extra) => extra.close()));
  });

  /** Asserts that the guard allows `beta` and denies `dark-mode` for user-1 on `target` without a promise. */
  async function expectDecidedWithoutAPromise(target: INestApplication): Promise<void> {
    const canActivate = jest.spyOn(FeatureFlagGuard.prototype, 'canActivate');
    try {
      await get('/features/beta', 'user-1', target).expect(200);
      await get('/features/dark-mode', 'user-1', target).expect(404);
      expect(canActivate.mock.results).toEqual([
        { type: 'return', value: true },
        { type: 'throw', value: expect.objectContaining({ message: 'Cannot GET /features/dark-mode' }) },
      ]);
    } finally {
      canActivate.mockRestore();
    }
  }

  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it('lets a request through when the flag is enabled', async () => {
    await get('/features/beta', 'user-1').expect(200);
  });

  it('answers 404 when the flag is disabled', async () => {
    await get('/features/dark-mode', 'user-1').expect(404);
  });

  it('matches the variant', async () => {
    await get('/features/checkout-test', 'user-1').expect(200);
    await get('/features/checkout-control', 'user-1').expect(404);
  });

  it('requires every flag of a list', async () => {
    await get('/features/beta-and-checkout', 'user-1').expect(200);
    await get('/features/beta-and-dark-mode', 'user-1').expect(404);
  });

  it('applies a class-level flag to every handler, combined with the handler requirement', async () => {
    await get('/beta-area', 'user-1').expect(200);
    await get('/beta-area/checkout-test', 'user-1').expect(200);
    await get('/beta-area/dark-mode', 'user-1').expect(404);
    fake.setFlags({ ...STANDARD_FLAGS, beta: { enabled: false } }, 'no-beta');
    await get('/beta-area', 'no-beta').expect(404);
    await get('/beta-area/checkout-test', 'no-beta').expect(404);
  });

  it('treats an anonymous request as unknown: denied, unless defaultValue is true', async () => {
    const before = fake.requests.length;
    await get('/features/beta').expect(404);
    await get('/features/kill-switch').expect(200);
    expect(fake.requests.length).toBe(before);
  });

  it('denies with the very 404 of a route that does not exist, query string included', async () => {
    const denied = await get('/features/dark-mode?from=mail', 'user-1').expect(404);
    const missing = await get('/features/no-such-route?from=mail', 'user-1').expect(404);
    expect(denied.body).toEqual({ ...missing.body, message: 'Cannot GET /features/dark-mode?from=mail' });
    expect(missing.body.message).toBe('Cannot GET /features/no-such-route?from=mail');
    expect(denied.headers['content-type']).toBe(missing.headers['content-type']);
  });

  it('warns once per handler when an authentication guard is declared to run after it', async () => {
    const logs = new CaptureLogger();
    const misordered = await startGuardedApp(platform, { host: fake.url }, logs);
    extraApps.push(misordered);
    await get('/features/misordered', undefined, misordered).set('x-late-user', 'user-1').expect(404);
    await get('/features/misordered', undefined, misordered).set('x-late-user', 'user-1').expect(404);
    await get('/features/beta', undefined, misordered).expect(404);
    const warnings = logs.at('warn').filter((line) => line.includes('runs before'));
    expect(warnings).toEqual([expect.stringContaining('FeaturesController.misordered runs before LateAuthGuard')]);
  });

  it('decides without a promise on a fresh hit in the memory cache, allowing and denying', async () => {
    const fresh = await startGuardedApp(platform, { host: fake.url, cacheUrl: 'memory://local?fresh=60' });
    extraApps.push(fresh);
    await get('/features/beta', 'user-1', fresh).expect(200);
    await get('/features/dark-mode', 'user-1', fresh).expect(404);
    await expectDecidedWithoutAPromise(fresh);
  });

  it('decides without a promise while the circuit is open, from the last known values, asking nothing', async () => {
    const breaker = { failureThreshold: 1, resetTimeoutMs: 600_000 };
    const open = await startGuardedApp(platform, {
      host: fake.url,
      cacheUrl: 'memory://local',
      circuitBreaker: breaker,
    });
    extraApps.push(open);
    await get('/features/beta', 'user-1', open).expect(200);
    await get('/features/dark-mode', 'user-1', open).expect(404);
    fake.answer = 503;
    await get('/features/beta', 'user-1', open).expect(200);
    expect(open.get(FlagsService).status().circuit).toBe('open');
    const calls = fake.requests.length;
    await expectDecidedWithoutAPromise(open);
    expect(fake.requests.length).toBe(calls);
  });

  it("leaves a user's remembered local answers as they were when an override changes one request", async () => {
    fake.definitions = {
      flags: [{ id: 1, key: 'beta', active: true, filters: { groups: [{ rollout_percentage: 100 }] } }],
    };
    const local = await startGuardedApp(platform, { host: fake.url, secretKey: 'phs_guard_test' });
    extraApps.push(local);
    const flags = local.get(FlagsService);
    await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions');
    try {
      await get('/features/beta', 'user-1', local).expect(200);
      local.get(FlagsOverrides).set('beta', false);
      await get('/features/beta', 'user-1', local).expect(404);
      local.get(FlagsOverrides).reset();
      const allowed = await get('/features/beta', 'user-1', local).expect(200);
      expect(allowed.body.flags.beta).toMatchObject({ enabled: true, source: 'local' });
    } finally {
      fake.definitions = undefined;
    }
  });

  it('decides without a promise when local evaluation decides every flag, allowing and denying', async () => {
    fake.definitions = {
      flags: ['beta', 'dark-mode'].map((key, index) => ({
        id: index + 1,
        key,
        active: key === 'beta',
        filters: { groups: [{ rollout_percentage: 100 }] },
      })),
    };
    const local = await startGuardedApp(platform, { host: fake.url, secretKey: 'phs_guard_test' });
    extraApps.push(local);
    const flags = local.get(FlagsService);
    await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions');
    const calls = fake.requests.length;
    const canActivate = jest.spyOn(FeatureFlagGuard.prototype, 'canActivate');
    try {
      const allowed = await get('/features/beta', 'user-1', local).expect(200);
      await get('/features/dark-mode', 'user-1', local).expect(404);
      expect(canActivate.mock.results).toEqual([
        { type: 'return', value: true },
        { type: 'throw', value: expect.objectContaining({ message: 'Cannot GET /features/dark-mode' }) },
      ]);
      expect(allowed.body.flags.beta).toMatchObject({ enabled: true, source: 'local' });
      expect(fake.requests.length).toBe(calls);
    } finally {
      canActivate.mockRestore();
      fake.definitions = undefined;
    }
  });

  it('uses defaultValue for a flag PostHog does not know', async () => {
    await get('/features/kill-switch', 'user-1').expect(200);
  });

  it("throws the decorator's exception", async () => {
    const response = await get('/features/forbidden', 'user-1').expect(403);
    expect(response.body.message).toBe('dark mode only');
  });

  it("throws the module's exception by default when one is set", async () => {
    const strict = await startGuardedApp(platform, { host: fake.url, exception: new ForbiddenException('not yet') });
    extraApps.push(strict);
    const response = await get('/features/dark-mode', 'user-1', strict).expect(403);
    expect(response.body.message).toBe('not yet');
    await get('/features/forbidden', 'user-1', strict).expect(403, /dark mode only/);
  });

  it('lets a user with a fallback in during an outage, and denies a never-seen user with 404, not 500', async () => {
    await get('/features/beta', 'cached-user').expect(200);
    fake.answer = 503;
    const response = await get('/features/beta', 'cached-user').expect(200);
    expect(response.body.flags.beta).toMatchObject({ enabled: true, source: 'fallback' });
    await get('/features/beta', 'never-seen').expect(404);
    fake.answer = 'hang';
    await get('/features/checkout-test', 'cached-user').expect(200);
    await get('/features/checkout-test', 'never-seen-2').expect(404);
  });

  it('hands the evaluated flags to the handler through @Flags()', async () => {
    const response = await get('/features/beta', 'user-1').expect(200);
    expect(response.body.flags).toEqual({
      beta: expect.objectContaining({ key: 'beta', enabled: true, payload: { color: 'blue' }, source: 'remote' }),
      checkout: expect.objectContaining({ key: 'checkout', enabled: true, variant: 'test', source: 'remote' }),
      'dark-mode': expect.objectContaining({ key: 'dark-mode', enabled: false, source: 'remote' }),
    });
    expect(typeof response.body.flags.beta.evaluatedAt).toBe('string');
  });

  it('makes one upstream call per request, however many flags and service calls', async () => {
    let before = fake.requests.length;
    await get('/features/stacked', 'user-1').expect(200);
    expect(fake.requests.length - before).toBe(1);

    before = fake.requests.length;
    await get('/beta-area/checkout-test', 'user-1').expect(200);
    expect(fake.requests.length - before).toBe(1);

    before = fake.requests.length;
    const response = await get('/features/service', 'user-1').expect(200);
    expect(fake.requests.length - before).toBe(1);
    expect(response.body).toEqual({
      checkout: 'test',
      payload: { color: 'blue' },
      all: { beta: true, checkout: 'test', 'dark-mode': false },
      source: 'remote',
    });

    before = fake.requests.length;
    await get('/features/beta', 'user-1').expect(200);
    await get('/features/beta', 'user-1').expect(200);
    expect(fake.requests.length - before).toBe(2);
  });

  it('asks contextFactory whom the request is for', async () => {
    fake.setFlags({ beta: { enabled: false } });
    fake.setFlags({ beta: { enabled: true } }, 'acme-admin');
    const custom = await startGuardedApp(platform, {
      host: fake.url,
      contextFactory: (context: ExecutionContext) => {
        const tenant = context.switchToHttp().getRequest().headers['x-tenant'];
        return tenant ? { distinctId: `${tenant}-admin`, groups: { company: String(tenant) } } : undefined;
      },
    });
    extraApps.push(custom);
    const before = fake.requests.length;
    await get('/features/beta', 'user-1', custom).set('x-tenant', 'acme').expect(200);
    expect(fake.requests[before].body).toMatchObject({ distinct_id: 'acme-admin', groups: { company: 'acme' } });
    await get('/features/beta', 'user-1', custom).expect(404);
  });

  it('denies without a 500 when contextFactory throws, and logs why', async () => {
    const logs = new CaptureLogger();
    const broken = await startGuardedApp(
      platform,
      {
        host: fake.url,
        contextFactory: () => {
          throw new Error('session store down');
        },
      },
      logs,
    );
    extraApps.push(broken);
    await get('/features/beta', 'user-1', broken).expect(404);
    await get('/features/kill-switch', 'user-1', broken).expect(200);
    expect(logs.at('error').some((line) => line.includes('session store down'))).toBe(true);
  });
});
