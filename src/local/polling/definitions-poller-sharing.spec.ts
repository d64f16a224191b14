import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { definitionsOf, fakePoller, fakeStore, INTERVAL_MS, ok } from '../../../test/support/poller-fakes.js';
import type { FlagDefinitionsData } from '../definitions.js';
import { projectFingerprint } from '../shared-definitions.js';
import type { SharedRead } from '../sharing/definitions-store.js';

const SHARED = definitionsOf(2);
const PUBLISHED = definitionsOf(3);
const UPSTREAM = definitionsOf(4);

/** What the store serves: `data` of this project, polled by its publisher at `polledAt`, the lock held. */
function shared(data: FlagDefinitionsData, polledAt = Date.now()): SharedRead {
  const stamp = { fingerprint: projectFingerprint('phc_test'), polledAt, etag: '"shared"' };
  return { kind: 'definitions', shared: { data, stamp }, polledAt, lockHeld: true };
}

beforeEach(() => {
  jest.useFakeTimers();
  Logger.overrideLogger(false);
});

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
  Logger.overrideLogger(new Logger());
});

describe('DefinitionsPoller following a shared store', () => {
  it('is ready from the store at startup, before any round, and asks PostHog nothing while its poller lives', async () => {
    const store = fakeStore('redis', 'follower', shared(SHARED));
    const { poller, upstream } = fakePoller(store);
    await poller.onApplicationBootstrap();
    expect(store.calls[0]).toBe('load');
    expect(poller.definitions?.data).toBe(SHARED);
    expect(poller.status()).toMatchObject({ source: 'redis', poller: false, etag: '"shared"', stale: false });
    await jest.advanceTimersByTimeAsync(0);

    jest.advanceTimersByTime(INTERVAL_MS);
    store.read = shared(PUBLISHED);
    await expect(poller.reload()).resolves.toEqual({ outcome: 'loaded', from: 'store', joined: true, flags: 3 });
    expect(poller.definitions?.data).toBe(PUBLISHED);
    jest.advanceTimersByTime(INTERVAL_MS);
    store.read = shared(PUBLISHED, Date.now());
    await expect(poller.reload()).resolves.toEqual({ outcome: 'unchanged', from: 'store', joined: true, flags: 3 });
    expect(upstream.etags).toEqual([]);
    expect(store.kept).toEqual([]);
  });

  it('polls PostHog itself, publishing nothing, once no poller has published for 3 poll intervals', async () => {
    const store = fakeStore('redis', 'follower', shared(SHARED));
    const { poller, upstream, next } = fakePoller(store);
    await poller.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    // The store goes on serving the poll of startup: its poller is gone.
    for (let round = 1; round <= 3; round++) await expect(next()).resolves.toMatchObject({ outcome: 'unchanged' });
    expect(upstream.etags).toEqual([]);
    await expect(next(ok(UPSTREAM, '"v9"'))).resolves.toEqual({
      outcome: 'loaded',
      from: 'upstream',
      joined: true,
      flags: 4,
    });
    // The shared definitions' ETag is sent: PostHog may answer 304.
    expect(upstream.etags).toEqual(['"shared"']);
    expect(poller.definitions?.data).toBe(UPSTREAM);
    expect(poller.status()).toMatchObject({ source: 'upstream', poller: false, stale: false });
    expect(store.kept).toEqual([]);
  });

  it('holding the lock, polls PostHog and keeps the store true at every poll, a 304 included', async () => {
    const store = fakeStore('redis', 'poller', { kind: 'missing', lockHeld: true });
    const { poller, start, next } = fakePoller(store);
    await start(ok(UPSTREAM, '"v1"'));
    expect(store.kept).toEqual([{ data: UPSTREAM, stamp: { polledAt: Date.now(), etag: '"v1"' } }]);
    await next({ status: 304, etag: '"v1"' });
    expect(store.kept).toHaveLength(2);
    expect(store.kept[1]).toEqual({ data: UPSTREAM, stamp: { polledAt: Date.now(), etag: '"v1"' } });
    expect(poller.status()).toMatchObject({ source: 'upstream', poller: true });
  });

  it('polls PostHog alone, publishing nothing, while the store is unreachable', async () => {
    const down = new Error('connection refused');
    const store = fakeStore('redis', down, down);
    const { poller, upstream, start } = fakePoller(store);
    await expect(start(ok(UPSTREAM, '"v1"'))).resolves.toMatchObject({ outcome: 'loaded', from: 'upstream' });
    expect(upstream.etags).toEqual([undefined]);
    expect(poller.ready).toBe(true);
    expect(store.calls).not.toContain('keep');
  });

  it("polls PostHog when the store holds another project's definitions, never adopting them", async () => {
    const store = fakeStore('redis', 'follower', { kind: 'foreign', lockHeld: true });
    const { poller, start } = fakePoller(store);
    await expect(start(ok(UPSTREAM))).resolves.toMatchObject({ outcome: 'loaded', from: 'upstream', flags: 4 });
    expect(poller.definitions?.data).toBe(UPSTREAM);
    expect(store.kept).toEqual([]);
  });
});

describe('DefinitionsPoller as a cache-only reader (no secret key)', () => {
  it('reads the store every interval and never polls PostHog, even when the definitions go stale', async () => {
    const store = fakeStore('redis', 'poller', shared(SHARED));
    const { poller, upstream, next } = fakePoller(store, { secretKey: '', cacheUrl: 'redis://127.0.0.1:1' });
    await poller.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(poller.status()).toMatchObject({ mode: 'cache-only', source: 'redis', ready: true });
    store.read = shared(PUBLISHED);
    await expect(next()).resolves.toEqual({ outcome: 'loaded', from: 'store', joined: true, flags: 3 });
    for (let round = 1; round <= 4; round++) await next();
    expect(poller.stale).toBe(true);
    expect(poller.definitions?.data).toBe(PUBLISHED);
    expect(upstream.etags).toEqual([]);
    expect(store.calls).not.toContain('shouldPoll');
    expect(store.calls.filter((call) => call === 'load')).toHaveLength(7);
  });
});
