import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { defer, firstValueFrom, NEVER, of, Subject, takeUntil, throwError } from 'rxjs';
import { UpstreamError } from './upstream-error.js';
import { CircuitBreaker, withCircuitBreaker, type CircuitState } from './circuit-breaker.js';

describe('the circuit breaker operator', () => {
  let calls: number;
  let transitions: string[];
  let breaker: CircuitBreaker;
  const judge = (error: unknown) => {
    const reason = (error as UpstreamError).reason;
    return reason === 'http_401' ? 'opens' : reason === 'http_400' ? 'ignores' : 'counts';
  };

  /** One guarded call whose source succeeds or fails as told; resolves with 'ok' or the failure reason. */
  const call = (outcome: 'ok' | 'fail' | 'unauthorized' | 'bad-request') =>
    firstValueFrom(
      defer(() => {
        calls++;
        if (outcome === 'ok') return of('ok');
        const reason = outcome === 'fail' ? 'http_503' : outcome === 'bad-request' ? 'http_400' : 'http_401';
        return throwError(() => new UpstreamError(reason, 'x'));
      }).pipe(withCircuitBreaker(breaker)),
    ).catch((error: UpstreamError) => error.reason);

  beforeEach(() => {
    jest.useFakeTimers();
    calls = 0;
    transitions = [];
    breaker = new CircuitBreaker(
      { failureThreshold: 3, resetTimeoutMs: 10_000 },
      (state: CircuitState, previous: CircuitState) => transitions.push(`${previous}→${state}`),
      judge,
    );
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('opens after failureThreshold consecutive failures and then fails at once without calling', async () => {
    expect(await call('fail')).toBe('http_503');
    expect(await call('fail')).toBe('http_503');
    expect(breaker.current).toBe('closed');
    expect(await call('fail')).toBe('http_503');
    expect(breaker.current).toBe('open');
    expect(await call('ok')).toBe('circuit_open');
    expect(calls).toBe(3);
  });

  it('neither counts nor resets on a failure the judge ignores', async () => {
    for (let i = 0; i < 10; i++) expect(await call('bad-request')).toBe('http_400');
    expect(breaker.current).toBe('closed');
    await call('fail');
    await call('fail');
    await call('bad-request');
    await call('fail');
    expect(breaker.current).toBe('open');
  });

  it('gives the probe back when it ends with a failure the judge ignores', async () => {
    for (let i = 0; i < 3; i++) await call('fail');
    jest.advanceTimersByTime(10_000);
    expect(await call('bad-request')).toBe('circuit_open');
    await Promise.resolve();
    expect(breaker.current).toBe('open');
    expect(await call('ok')).toBe('circuit_open');
    await Promise.resolve();
    expect(breaker.current).toBe('closed');
  });

  it('resets the count on a success', async () => {
    await call('fail');
    await call('fail');
    await call('ok');
    await call('fail');
    await call('fail');
    expect(breaker.current).toBe('closed');
  });

  it('lets one probe out after resetTimeoutMs: success closes, failure reopens', async () => {
    for (let i = 0; i < 3; i++) await call('fail');
    jest.advanceTimersByTime(9_999);
    expect(await call('ok')).toBe('circuit_open');
    expect(calls).toBe(3);
    jest.advanceTimersByTime(1);
    expect(await call('fail')).toBe('circuit_open');
    expect(calls).toBe(4);
    expect(breaker.current).toBe('open');
    expect(await call('ok')).toBe('circuit_open');
    jest.advanceTimersByTime(10_000);
    expect(await call('ok')).toBe('circuit_open');
    expect(breaker.current).toBe('closed');
    expect(await call('ok')).toBe('ok');
    expect(calls).toBe(6);
    expect(transitions).toEqual([
      'closed→open',
      'open→half-open',
      'half-open→open',
      'open→half-open',
      'half-open→closed',
    ]);
  });

  it('never holds the caller of the probe: it fails at once while the probe runs, and so does everyone else', async () => {
    for (let i = 0; i < 3; i++) await call('fail');
    jest.advanceTimersByTime(10_000);
    const answered = firstValueFrom(NEVER.pipe(withCircuitBreaker(breaker))).catch(
      (error: UpstreamError) => error.reason,
    );
    expect(await answered).toBe('circuit_open');
    expect(breaker.current).toBe('half-open');
    expect(await call('ok')).toBe('circuit_open');
    expect(calls).toBe(3);
  });

  it('says whether a call would be refused now, without moving the circuit', async () => {
    expect(breaker.refuses()).toBe(false);
    for (let i = 0; i < 3; i++) await call('fail');
    expect(breaker.refuses()).toBe(true);
    jest.advanceTimersByTime(10_000);
    expect(breaker.refuses()).toBe(false);
    expect(breaker.current).toBe('open');
    // The probe hangs: everyone else is refused until it ends.
    await firstValueFrom(NEVER.pipe(withCircuitBreaker(breaker))).catch(() => undefined);
    expect(breaker.current).toBe('half-open');
    expect(breaker.refuses()).toBe(true);
  });

  it('gives a probe that ends without an outcome its place back', async () => {
    for (let i = 0; i < 3; i++) await call('fail');
    jest.advanceTimersByTime(10_000);
    const shutdown = new Subject<void>();
    await firstValueFrom(NEVER.pipe(takeUntil(shutdown), withCircuitBreaker(breaker))).catch(() => {});
    expect(breaker.current).toBe('half-open');
    shutdown.next();
    expect(breaker.current).toBe('open');
    expect(await call('ok')).toBe('circuit_open');
    expect(breaker.current).toBe('closed');
  });

  it('opens at once on a fatal error (a rejected API key)', async () => {
    expect(await call('unauthorized')).toBe('http_401');
    expect(breaker.current).toBe('open');
    expect(await call('ok')).toBe('circuit_open');
  });
});
