import { describe, expect, it } from '@jest/globals';
import { defer, firstValueFrom, Subject } from 'rxjs';
import type { UpstreamError } from './upstream-error.js';
import { ConcurrencyLimiter, withConcurrencyLimit } from './concurrency-limit.js';

/** Calls through `limiter` that run until the test answers them; `started` holds each running call's answer. */
function callsThrough(limiter: ConcurrencyLimiter) {
  const started: Subject<string>[] = [];
  const call = () =>
    firstValueFrom(
      defer(() => {
        const answer = new Subject<string>();
        started.push(answer);
        return answer;
      }).pipe(withConcurrencyLimit(limiter)),
    ).catch((error: UpstreamError) => error.reason);
  return { started, call };
}

describe('withConcurrencyLimit', () => {
  it('runs at most maxActive calls, queues up to maxWaiting, and fails the rest as overloaded at once', async () => {
    const limiter = new ConcurrencyLimiter(2, 1);
    const { started, call } = callsThrough(limiter);
    const [first, second, third] = [call(), call(), call()];
    expect(started).toHaveLength(2);
    expect(limiter.saturated).toBe(true);
    expect(await call()).toBe('overloaded');
    expect(limiter.load).toEqual({ active: 2, waiting: 1 });

    started[0].next('one');
    expect(await first).toBe('one');
    expect(started).toHaveLength(3);
    started[2].next('three');
    started[1].next('two');
    expect([await second, await third]).toEqual(['two', 'three']);
    expect(limiter.load).toEqual({ active: 0, waiting: 0 });
    expect(limiter.saturated).toBe(false);
  });

  it('gives the slot back when a call is unsubscribed, and a waiting call its place in the queue', () => {
    const limiter = new ConcurrencyLimiter(1, 5);
    const source = new Subject<string>();
    const running = source.pipe(withConcurrencyLimit(limiter)).subscribe();
    const waiting = source.pipe(withConcurrencyLimit(limiter)).subscribe();
    expect(limiter.load).toEqual({ active: 1, waiting: 1 });
    waiting.unsubscribe();
    expect(limiter.load).toEqual({ active: 1, waiting: 0 });
    running.unsubscribe();
    expect(limiter.load).toEqual({ active: 0, waiting: 0 });
    expect(source.observed).toBe(false);
  });

  it('gives the slot back when a call fails', async () => {
    const limiter = new ConcurrencyLimiter(1, 0);
    const failing = new Subject<string>();
    const failed = firstValueFrom(failing.pipe(withConcurrencyLimit(limiter))).catch(() => 'failed');
    failing.error(new Error('boom'));
    expect(await failed).toBe('failed');
    expect(limiter.load).toEqual({ active: 0, waiting: 0 });
  });
});
