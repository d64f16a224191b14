import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { CaptureLogger } from '../../../test/support/capture-logger.js';
import { definitionsOf, fakePoller, inProcessStore, INTERVAL_MS, ok } from '../../../test/support/poller-fakes.js';
import { UpstreamError } from '../../pipeline/upstream-error.js';

const FIRST = definitionsOf(2);
const SECOND = definitionsOf(3);
const failure = (reason: 'http_500' | 'http_402') => new UpstreamError(reason, 'refused', '/flags/definitions');

let logs: CaptureLogger;
/** How many lines at `level` say `text`. */
const said = (level: 'log' | 'warn', text: string) => logs.at(level).filter((line) => line.includes(text)).length;

beforeEach(() => {
  jest.useFakeTimers();
  logs = new CaptureLogger();
  Logger.overrideLogger(logs);
});

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
  Logger.overrideLogger(new Logger());
});

describe('DefinitionsPoller, polling PostHog', () => {
  it('polls at startup, then pollIntervalMs after the end of each round', async () => {
    const { poller, upstream, start } = fakePoller();
    expect(poller.ready).toBe(false);
    await expect(start(ok(FIRST, '"v1"'))).resolves.toEqual({
      outcome: 'loaded',
      from: 'upstream',
      joined: true,
      flags: 2,
    });
    expect(poller.ready).toBe(true);
    expect(poller.definitions?.data).toBe(FIRST);
    expect(poller.status()).toMatchObject({ mode: 'polling', source: 'upstream', etag: '"v1"', poller: true });
    await jest.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect(upstream.etags).toEqual([undefined]);
    await jest.advanceTimersByTimeAsync(1);
    expect(upstream.etags).toEqual([undefined, '"v1"']);
  });

  it('keeps the definitions in force on a 304, sending their ETag', async () => {
    const { poller, upstream, start, next } = fakePoller();
    await start(ok(FIRST, '"v1"'));
    const loaded = poller.definitions;
    await expect(next({ status: 304, etag: '"v1"' })).resolves.toEqual({
      outcome: 'unchanged',
      from: 'upstream',
      joined: true,
      flags: 2,
    });
    expect(poller.definitions).toBe(loaded);
    expect(upstream.etags).toEqual([undefined, '"v1"']);
    await expect(next(ok(SECOND, '"v2"'))).resolves.toMatchObject({ outcome: 'loaded', flags: 3 });
    expect(poller.definitions?.data).toBe(SECOND);
    expect(poller.status().etag).toBe('"v2"');
  });

  it('joins a round under way on reload; an idle reload polls at once and restarts the timer', async () => {
    const { poller, upstream, start } = fakePoller();
    await start(ok(FIRST, '"v1"'));
    jest.advanceTimersByTime(INTERVAL_MS);
    const reloads = [poller.reload(), poller.reload()];
    upstream.reply(ok(SECOND, '"v2"'));
    const joined = { outcome: 'loaded', from: 'upstream', joined: true, flags: 3 };
    expect(await Promise.all(reloads)).toEqual([joined, joined]);
    expect(upstream.etags).toHaveLength(2);

    jest.advanceTimersByTime(4000);
    const idle = poller.reload();
    upstream.reply({ status: 304 });
    await expect(idle).resolves.toEqual({ outcome: 'unchanged', from: 'upstream', joined: false, flags: 3 });
    expect(upstream.etags).toEqual([undefined, '"v1"', '"v2"']);
    // The round the timer had set for INTERVAL_MS after the last one is not run: the next is INTERVAL_MS after this.
    await jest.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect(upstream.etags).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(1);
    expect(upstream.etags).toHaveLength(4);
  });

  it('keeps the last definitions while polls fail, stale after 3 poll intervals without a poll', async () => {
    const { poller, start, next } = fakePoller();
    await start(ok(FIRST, '"v1"'));
    const loaded = poller.definitions;
    for (let round = 1; round <= 3; round++) {
      await expect(next(failure('http_500'))).resolves.toEqual({
        outcome: 'failed',
        from: 'upstream',
        joined: true,
        flags: 2,
        reason: 'http_500',
      });
      expect(poller.definitions).toBe(loaded);
      expect(poller.status()).toMatchObject({ failedPolls: round, failing: round === 3, stale: false });
    }
    jest.advanceTimersByTime(1);
    expect(poller.stale).toBe(true);
    expect(poller.status()).toMatchObject({ stale: true, ready: true, flags: 2, lastFailure: { reason: 'http_500' } });
    await next(failure('http_500'), INTERVAL_MS - 1);
    expect(said('warn', 'flag definitions are stale')).toBe(1);
    await expect(next({ status: 304, etag: '"v1"' })).resolves.toMatchObject({ outcome: 'unchanged' });
    expect(poller.status()).toMatchObject({ stale: false, failedPolls: 0, failing: false });
    expect(said('log', 'flag definitions are fresh again')).toBe(1);
  });

  it('drops the definitions on a 402 (quota) until PostHog answers 200 again', async () => {
    const { poller, upstream, start, next } = fakePoller();
    await start(ok(FIRST, '"v1"'));
    await expect(next(failure('http_402'))).resolves.toMatchObject({ outcome: 'failed', flags: 0 });
    expect(poller.definitions).toBeUndefined();
    expect(poller.ready).toBe(false);
    expect(poller.status()).toMatchObject({ source: 'none', flags: 0, stale: false });
    expect(poller.status().etag).toBeUndefined();
    await expect(next(ok(SECOND, '"v2"'))).resolves.toMatchObject({ outcome: 'loaded', flags: 3 });
    // The poll after the 402 asked for the definitions whole: no ETag.
    expect(upstream.etags).toEqual([undefined, '"v1"', undefined]);
    expect(poller.ready).toBe(true);
  });
});

describe('DefinitionsPoller readiness', () => {
  it('resolves waitUntilReady true once definitions with a flag load, false after its timeout', async () => {
    const { poller, upstream } = fakePoller();
    await poller.onApplicationBootstrap();
    const short = poller.waitUntilReady(5000);
    const long = poller.waitUntilReady(60_000);
    await jest.advanceTimersByTimeAsync(5000);
    await expect(short).resolves.toBe(false);
    // Definitions without a flag are not ready (posthog-node's test).
    upstream.reply(ok(definitionsOf(0)));
    await expect(poller.reload()).resolves.toMatchObject({ outcome: 'loaded', flags: 0 });
    expect(poller.ready).toBe(false);
    const again = poller.reload();
    upstream.reply(ok(FIRST));
    await again;
    await expect(long).resolves.toBe(true);
    // The waiters' timers are cleared: only the next round's is left; a wait once ready sets none.
    expect(jest.getTimerCount()).toBe(1);
    await expect(poller.waitUntilReady(1)).resolves.toBe(true);
    expect(jest.getTimerCount()).toBe(1);
  });

  it('resolves waitUntilReady false at shutdown and after it', async () => {
    const { poller } = fakePoller();
    await poller.onApplicationBootstrap();
    const waiting = poller.waitUntilReady(60_000);
    await poller.beforeApplicationShutdown();
    await expect(waiting).resolves.toBe(false);
    await expect(poller.waitUntilReady(60_000)).resolves.toBe(false);
  });

  it('resolves waitUntilReady false at once when local evaluation is off, and polls nothing', async () => {
    const { poller, upstream } = fakePoller(inProcessStore(), { localEvaluation: false });
    await poller.onApplicationBootstrap();
    await expect(poller.waitUntilReady(60_000)).resolves.toBe(false);
    await expect(poller.reload()).resolves.toEqual({ outcome: 'off', joined: false, flags: 0 });
    expect(poller.status()).toMatchObject({ mode: 'off', stale: false });
    expect(upstream.etags).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('DefinitionsPoller shutdown', () => {
  it('aborts the poll in flight, leaves no timer, and releases the store', async () => {
    const store = inProcessStore();
    const { poller, upstream } = fakePoller(store);
    await poller.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(upstream.etags).toHaveLength(1);
    await poller.beforeApplicationShutdown();
    expect(upstream.aborted).toBe(1);
    expect(upstream.closed).toBe(1);
    expect(store.calls).toContain('release');
    await jest.advanceTimersByTimeAsync(0);
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(upstream.etags).toHaveLength(1);
  });

  it('clears the timer of the next round: no poll after, a reload says stopped', async () => {
    const { poller, upstream, start } = fakePoller();
    await start(ok(FIRST));
    expect(jest.getTimerCount()).toBe(1);
    await poller.beforeApplicationShutdown();
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(upstream.etags).toHaveLength(1);
    await expect(poller.reload()).resolves.toEqual({ outcome: 'stopped', joined: false, flags: 2 });
    // What was loaded stays in force for the requests still answered.
    expect(poller.definitions?.data).toBe(FIRST);
  });
});
