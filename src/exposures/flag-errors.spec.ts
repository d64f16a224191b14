import { describe, expect, it } from '@jest/globals';
import { errorProperty, failureErrors } from './flag-errors.js';

describe('failureErrors', () => {
  it("gives each failure's tag as the fallback's error, the same frozen object for the same tag", () => {
    const timeout = failureErrors('timeout');
    expect(timeout).toEqual({ answer: [], failure: 'timeout' });
    expect(Object.isFrozen(timeout) && Object.isFrozen(timeout.answer)).toBe(true);
    expect(failureErrors('timeout')).toBe(timeout);
    // Failures of one tag share it: every network failure is a connection error.
    expect(failureErrors('connection_refused')).toBe(failureErrors('dns'));
    expect(failureErrors('http_503')).toEqual({ answer: [], failure: 'api_error_503' });
    expect(failureErrors('http_503')).not.toBe(failureErrors('http_502'));
    expect(failureErrors(undefined)).toBe(failureErrors('circuit_open'));
  });

  it('makes a quota-limited failure an error of every read', () => {
    const quota = failureErrors('quota_limited');
    expect(quota).toEqual({ answer: ['quota_limited'], failure: 'quota_limited' });
    expect(errorProperty(quota, { key: 'beta', enabled: false, source: 'remote' } as never, 'flag_missing')).toBe(
      'quota_limited',
    );
    const fallback = { key: 'beta', enabled: false, source: 'fallback' } as never;
    expect(errorProperty(failureErrors('timeout'), fallback, 'flag_missing')).toBe('timeout');
  });
});
