import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param, Query, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FeatureFlag, FlagEvaluations, Flags, FlagsService } from '../src/index.js';
import { MAX_WIDENINGS } from '../src/request/context-snapshots.js';
import { MAX_ROUTE_KEYS } from '../src/request/route-flags.js';
import type { FakePostHog } from '../src/testing/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { keysAskedWhile, startStandardPostHog } from './support/fake-posthog.js';
import { startRouteApp } from './support/guarded-app.js';

/** What `/route/join/all` runs between its two reads. */
let between = () => {};

/** Routes reading some flags of a project of many: what each request asks PostHog for is what its route reads. */
@Controller('route')
class RouteController {
  constructor(private readonly flags: FlagsService) {}

  @Get('guard')
  @FeatureFlag('beta')
  guard() {
    return { ok: true };
  }

  @Get('guard-and-service')
  @FeatureFlag('beta')
  async guardAndService() {
    return { checkout: await this.flags.getFlag('checkout') };
  }

  /** Reads `extra` too when the request names it: a route whose reads are learned as they come. */
  @Get('sometimes/:extra')
  @FeatureFlag('beta')
  async sometimes(@Param('extra') extra: string) {
    const checkout = await this.flags.getFlag('checkout');
    return extra === 'none' ? { checkout } : { checkout, [extra]: (await this.flags.getFlagResult(extra)) ?? null };
  }

  /** Reads `checkout`, then (`all`) every flag, with {@link between} run in between. */
  @Get('join/:mode')
  @FeatureFlag('beta')
  async join(@Param('mode') mode: string) {
    const checkout = await this.flags.getFlag('checkout');
    if (mode !== 'all') return { checkout };
    between();
    return { checkout, all: await this.flags.getAllFlags() };
  }

  @Get('every')
  @FeatureFlag('beta')
  async every() {
    return { checkout: await this.flags.getFlag('checkout'), all: await this.flags.getAllFlags() };
  }

  @Get('snapshot')
  @FeatureFlag('beta')
  snapshot(@Flags() flags: FlagEvaluations) {
    return { later: flags.getFlag('flag-7') ?? null };
  }

  /** Reads each key the query names, one call at a time (keys from outside: a hostile request names many). */
  @Get('keys')
  @FeatureFlag('beta')
  async keys(@Query('keys') keys: string) {
    let enabled = 0;
    for (const key of keys.split(',')) if (await this.flags.isEnabled(key)) enabled++;
    return { enabled };
  }

  /** Evaluates the keys the query names, in one call, without a guard. */
  @Get('list')
  async list(@Query('keys') keys: string) {
    const flags = await this.flags.evaluateFlags(undefined, { flagKeys: keys.split(',') });
    return { keys: flags.keys.length };
  }

  @Get('many/:count')
  async many(@Param('count') count: string) {
    return this.readFirst(Number(count));
  }

  @Get('loop/:count')
  async loop(@Param('count') count: string) {
    return this.readFirst(Number(count));
  }

  /** Reads `flag-0`, `flag-1`... one call each. */
  private async readFirst(count: number) {
    const keys = Array.from({ length: count }, (_, index) => `flag-${index}`);
    for (const key of keys) await this.flags.isEnabled(key);
    return { ok: true };
  }
}

describe('what a request asks PostHog for: its route’s flags', () => {
  let fake: FakePostHog;
  let app: INestApplication;
  const logs = new CaptureLogger();
  let user = 0;
  /** A user never seen: nothing cached or coalesced answers for them. */
  const newUser = () => `route-user-${++user}`;
  const get = (path: string, distinctId: string) =>
    request(app.getHttpServer()).get(path).set('x-user', distinctId).expect(200);
  const asked = (run: () => Promise<unknown>) => keysAskedWhile(fake, run);

  beforeAll(async () => {
    fake = await startStandardPostHog();
    for (let index = 0; index < 100; index++) fake.setFlag(`flag-${index}`, { value: index % 2 === 0 });
    app = await startRouteApp(fake.url, [RouteController], {}, logs);
  });

  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  it('asks for every flag on a route’s first request, then only for the flag its guard checks', async () => {
    expect(await asked(() => get('/route/guard', newUser()))).toEqual(['every']);
    expect(await asked(() => get('/route/guard', newUser()))).toEqual([['beta']]);
    expect(await asked(() => get('/route/guard', newUser()))).toEqual([['beta']]);
  });

  it('asks for the guard’s flag and the ones the handler read, in one call', async () => {
    expect(await asked(() => get('/route/guard-and-service', newUser()))).toEqual(['every']);
    let body: unknown;
    const calls = await asked(async () => ({ body } = await get('/route/guard-and-service', newUser())));
    expect(calls).toEqual([['beta', 'checkout']]);
    expect(body).toEqual({ checkout: 'test' });
  });

  it('answers a flag the route never read before right (a call of its own), then asks for it with the rest', async () => {
    await get('/route/sometimes/none', newUser());
    expect(await asked(() => get('/route/sometimes/none', newUser()))).toEqual([['beta', 'checkout']]);

    let body: Record<string, unknown> = {};
    const calls = await asked(async () => ({ body } = await get('/route/sometimes/flag-4', newUser())));
    expect(calls).toEqual([['beta', 'checkout'], ['flag-4']]);
    expect(body).toMatchObject({ checkout: 'test', 'flag-4': { enabled: true, source: 'remote' } });

    expect(await asked(() => get('/route/sometimes/none', newUser()))).toEqual([['beta', 'checkout', 'flag-4']]);
  });

  it('asks for every flag in one call once a route’s requests read every flag', async () => {
    await get('/route/every', newUser());
    let body: Record<string, unknown> = {};
    const calls = await asked(async () => ({ body } = await get('/route/every', newUser())));
    expect(calls).toEqual(['every']);
    expect(Object.keys(body.all as object)).toHaveLength(103);
  });

  it('joins a read of every flag to what the request already read, which keeps its answer', async () => {
    await get('/route/join/none', newUser());
    between = () => fake.setFlag('checkout', { value: 'control' });
    let body: Record<string, unknown> = {};
    try {
      const calls = await asked(async () => ({ body } = await get('/route/join/all', newUser())));
      expect(calls).toEqual([['beta', 'checkout'], 'every']);
    } finally {
      fake.setFlag('checkout', { value: 'test' });
      between = () => {};
    }
    const all = body.all as Record<string, unknown>;
    expect(body.checkout).toBe('test');
    expect(all.checkout).toBe('test');
    expect(all.beta).toBe(true);
    expect(all['flag-2']).toBe(true);
    expect(all['flag-3']).toBe(false);
    expect(Object.keys(all)).toHaveLength(103);
  });

  it('asks for every flag for a handler that takes @Flags(): its snapshot may be read for any flag', async () => {
    let body: unknown;
    const calls = await asked(async () => ({ body } = await get('/route/snapshot', newUser())));
    expect(calls).toEqual(['every']);
    expect(body).toEqual({ later: false });
    expect(await asked(() => get('/route/snapshot', newUser()))).toEqual(['every']);
  });

  it(`asks for every flag once a route has read more than ${MAX_ROUTE_KEYS} keys`, async () => {
    await get(`/route/many/${MAX_ROUTE_KEYS}`, newUser());
    const keyed = await asked(() => get(`/route/many/${MAX_ROUTE_KEYS}`, newUser()));
    expect(keyed).toHaveLength(1);
    expect(keyed[0]).toHaveLength(MAX_ROUTE_KEYS);
    await get(`/route/many/${MAX_ROUTE_KEYS + 1}`, newUser());
    expect(await asked(() => get(`/route/many/${MAX_ROUTE_KEYS + 1}`, newUser()))).toEqual(['every']);
  });

  it(`asks for every flag after ${MAX_WIDENINGS} calls for flags a request's route never read`, async () => {
    await get('/route/loop/1', newUser());
    expect(await asked(() => get('/route/loop/1', newUser()))).toEqual([['flag-0']]);
    const calls = await asked(() => get('/route/loop/40', newUser()));
    expect(calls).toEqual([['flag-0'], ['flag-1'], ['flag-2'], ['flag-3'], 'every']);
    expect(calls).toHaveLength(MAX_WIDENINGS + 2);
    const learned = await asked(() => get('/route/loop/40', newUser()));
    expect(learned).toHaveLength(1);
    expect(learned[0]).toHaveLength(40);
  });

  it(`asks PostHog at most ${MAX_WIDENINGS + 2} times in a request reading many keys its route never read`, async () => {
    await get('/route/keys?keys=checkout', newUser());
    const keys = Array.from({ length: 300 }, (_, index) => `flag-${index % 100}-${index}`);
    keys.push('flag-2', 'flag-4');
    let body: unknown;
    const calls = await asked(async () => ({ body } = await get(`/route/keys?keys=${keys.join(',')}`, newUser())));
    expect(body).toEqual({ enabled: 2 });
    expect(calls).toHaveLength(MAX_WIDENINGS + 2);
    expect(calls.at(-1)).toBe('every');
  });

  it(`never learns more than ${MAX_ROUTE_KEYS} keys for a route, even from its first request`, async () => {
    const keys = Array.from({ length: 100 }, (_, index) => `flag-${index}`).join(',');
    await get(`/route/list?keys=${keys}`, newUser());
    let body: unknown;
    const calls = await asked(async () => ({ body } = await get('/route/list?keys=flag-1', newUser())));
    expect(body).toEqual({ keys: 1 });
    expect(calls).toEqual(['every']);
  });

  it('logs no warning or error for any of it', () => {
    expect([...logs.at('warn'), ...logs.at('error')]).toEqual([]);
  });
});
