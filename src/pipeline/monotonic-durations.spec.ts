import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { PollClock } from '../local/polling/poll-clock.js';
import { EPISODE_QUIET_MS, LogEpisode } from '../util/log-episode.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { Coalescer } from './coalesce.js';

/** How far the wall clock is stepped: NTP correcting a clock, a VM resumed from a snapshot. */
const STEP_MS = 10 * 60_000;

/**
 * Every duration is measured on the monotonic clock. Jest's fake timers fake both clocks:
 * `jest.setSystemTime` steps the wall clock alone, `jest.advanceTimersByTime` is time passing on both.
 */
describe('durations, with the wall clock stepped', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: Date.parse('2026-12-06T12:00:00Z') });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('the circuit breaker lets a probe out resetTimeoutMs after it opened, whatever the wall clock did', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 1000 });
    breaker.recordFailure(new Error('down'));
    expect(breaker.current).toBe('open');
    jest.setSystemTime(Date.now() - STEP_MS);
    jest.advanceTimersByTime(999);
    expect(breaker.tryAcquire()).toBe(false);
    jest.advanceTimersByTime(1);
    expect(breaker.tryAcquire()).toBe('probe');
  });

  it('the circuit breaker stays open resetTimeoutMs when the wall clock jumps ahead', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 10_000 });
    breaker.recordFailure(new Error('down'));
    jest.setSystemTime(Date.now() + STEP_MS);
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('a held run is let go maxHoldMs after it settled', async () => {
    const coalescer = new Coalescer<number>(1000);
    await coalescer.run('a', () => Promise.resolve(1), new Promise(() => {}));
    jest.setSystemTime(Date.now() - STEP_MS);
    jest.advanceTimersByTime(1000);
    expect(coalescer.get('a')).toBeUndefined();
  });

  it('an episode ends after its quiet period', () => {
    const lines: string[] = [];
    const logger = {
      error: () => {},
      warn: (line: string) => lines.push(line),
      log: (line: string) => lines.push(line),
    };
    const episode = new LogEpisode(logger, {
      started: () => 'started',
      lasting: () => 'lasting',
      ended: () => 'ended',
    });
    episode.failed('down');
    jest.setSystemTime(Date.now() - STEP_MS);
    jest.advanceTimersByTime(EPISODE_QUIET_MS);
    episode.succeeded();
    expect(lines).toEqual(['started', 'ended']);
  });

  it('definitions are stale 3 poll intervals after the last poll, not when the wall clock jumps', () => {
    const clock = new PollClock(1000);
    clock.started();
    clock.polled();
    const polledAt = clock.lastPolledAt;
    jest.setSystemTime(Date.now() + STEP_MS);
    expect(clock.isStale()).toBe(false);
    jest.setSystemTime(Date.now() - 2 * STEP_MS);
    jest.advanceTimersByTime(3001);
    expect(clock.isStale()).toBe(true);
    expect(clock.lastPolledAt).toBe(polledAt);
  });

  it('a publisher told of by the shared store is live for 3 intervals from its poll, on this clock', () => {
    const clock = new PollClock(1000);
    clock.confirmShared(Date.now() - 1000, false);
    expect(clock.publisherIsLive()).toBe(true);
    jest.setSystemTime(Date.now() - STEP_MS);
    jest.advanceTimersByTime(2001);
    expect(clock.publisherIsLive()).toBe(false);
    expect(clock.lastPolledByAnyone()).toBe(Date.parse('2026-12-06T12:00:00Z') - 1000);
  });
});
