import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FlagsService, type FlagsEvent } from '../src/index.js';
import { EPISODE_QUIET_MS } from '../src/util/log-episode.js';
import { CaptureLogger } from './support/capture-logger.js';
import { fakeClocks, restoreClocks } from './support/clock.js';
import { STANDARD_FLAGS } from './support/fake-posthog.js';
import { startGuardedApp } from './support/guarded-app.js';
import { useFakePostHog } from './support/flags-suite.js';

/** Issue 37, item 9: a user the guard denied because nothing was known is counted, and the logs say so. */
describe('counts.unknown in an outage, through a @FeatureFlag route', () => {
  const fake = useFakePostHog();
  let app: INestApplication | undefined;
  let refused = false;

  afterEach(async () => {
    restoreClocks();
    if (refused) await fake.accept();
    refused = false;
    await app?.close();
    app = undefined;
  });

  it('a never-seen user denied while PostHog is down counts as unknown, and the recovery line says so', async () => {
    const logs = new CaptureLogger();
    app = await startGuardedApp('express', { host: fake.url, cacheUrl: 'memory://local' }, logs);
    const flags = app.get(FlagsService);
    const get = (user: string) => request(app!.getHttpServer()).get('/features/beta').set('x-test-user', user);
    expect((await get('known')).status).toBe(200);

    fakeClocks(Date.now());
    await fake.refuse();
    refused = true;
    expect((await get('known')).status).toBe(200); // its last known values, 3 flags
    expect((await get('never-seen')).status).toBe(404); // denied: nothing known
    expect(flags.status().counts).toMatchObject({ fallback: 3, unknown: 1 });

    await fake.accept();
    refused = false;
    jest.setSystemTime(Date.now() + EPISODE_QUIET_MS);
    expect((await get('known')).status).toBe(200);
    const recovered = logs.at('log').filter((line) => line.includes('answers again'));
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toContain(
      'answers again; serving live flags (since the last line 3 flags answered from the fallback cache, 1 unknown)',
    );
  });

  it('an evaluation of every flag that got nothing counts one; one that PostHog answered counts none', async () => {
    app = await startGuardedApp('express', { host: fake.url, cacheUrl: 'memory://local' });
    const flags = app.get(FlagsService);
    expect(await flags.getAllFlags('someone')).toEqual({ beta: true, checkout: 'test', 'dark-mode': false });
    fake.answer = 503;
    expect(await flags.getAllFlags('never-seen')).toEqual({});
    expect(await flags.getAllFlags('someone')).toEqual({ beta: true, checkout: 'test', 'dark-mode': false });
    expect(flags.status().counts).toMatchObject({ remote: 3, fallback: 3, unknown: 1 });
  });

  it('a flag PostHog named and failed to compute, in an evaluation of every flag, is unknown, with its event', async () => {
    fake.setFlags({ ...STANDARD_FLAGS, beta: { enabled: true, failed: true } });
    app = await startGuardedApp('express', { host: fake.url, cacheUrl: 'memory://local' });
    const flags = app.get(FlagsService);
    const events: FlagsEvent[] = [];
    const subscription = flags.events$.subscribe((event) => events.push(event));
    expect(await flags.getAllFlags('never-seen')).toEqual({ checkout: 'test', 'dark-mode': false });
    subscription.unsubscribe();
    expect(flags.status().counts).toMatchObject({ remote: 2, unknown: 1 });
    expect(events).toContainEqual(expect.objectContaining({ type: 'flag_evaluated', key: 'beta', source: 'unknown' }));
  });
});
