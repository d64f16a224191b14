import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { defer, firstValueFrom, throwError } from 'rxjs';
import { backoffDelay, retryWithBackoff } from './retry-with-backoff.js';

describe('backoffDelay', () => {
  it('starts at the base and doubles, with up to 25% jitter', () => {
    expect([1, 2, 3].map((attempt) => backoffDelay(attempt, 300, () => 0))).toEqual([300, 600, 1200]);
    expect(backoffDelay(1, 300, () => 0.999)).toBe(375);
  });
});

describe('retryWithBackoff', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('waits the backoff before each retry and stops after `retries`', async () => {
    jest.useFakeTimers();
    let attempts = 0;
    const source = defer(() => {
      attempts++;
      return throwError(() => new Error('transient'));
    }).pipe(retryWithBackoff({ retries: 2, baseDelayMs: 300, isRetryable: () => true, random: () => 0 }));
    const outcome = firstValueFrom(source).catch((error: Error) => error.message);

    expect(attempts).toBe(1);
    await jest.advanceTimersByTimeAsync(299);
    expect(attempts).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(attempts).toBe(2);
    await jest.advanceTimersByTimeAsync(600);
    expect(attempts).toBe(3);
    expect(await outcome).toBe('transient');
  });

  it('fails at once on an error that may not be retried', async () => {
    let attempts = 0;
    const source = defer(() => {
      attempts++;
      return throwError(() => new Error('permanent'));
    }).pipe(retryWithBackoff({ retries: 3, baseDelayMs: 300, isRetryable: () => false }));
    await expect(firstValueFrom(source)).rejects.toThrow('permanent');
    expect(attempts).toBe(1);
  });
});
