import { describe, expect, it } from '@jest/globals';
import { parseFlagsResponse } from './flags-response.js';
import { UpstreamError } from '../pipeline/upstream-error.js';

const at = new Date('2026-01-01T00:00:00Z');

describe('parseFlagsResponse', () => {
  it('reads the documented v2 answer: variant, parsed payload, reason description and code, id, version, request id', () => {
    const parsed = parseFlagsResponse(
      {
        flags: {
          beta: {
            key: 'beta',
            enabled: true,
            reason: { code: 'condition_match', description: 'Condition set 1 matched' },
            metadata: { id: 1, version: 4, payload: '{"color": "blue"}' },
          },
          checkout: { key: 'checkout', enabled: true, variant: 'test', metadata: { id: 2, version: 42 } },
          'dark-mode': { key: 'dark-mode', enabled: false, metadata: { id: 3, version: 1 } },
        },
        errorsWhileComputingFlags: false,
        requestId: 'req-1',
      },
      at,
    );
    const reason = { reason: 'Condition set 1 matched', reasonCode: 'condition_match' };
    const beta = { payload: { color: 'blue' }, ...reason, id: 1, version: 4 };
    expect([...parsed.flags.values()]).toEqual([
      { key: 'beta', enabled: true, ...beta, evaluatedAt: at },
      { key: 'checkout', enabled: true, variant: 'test', id: 2, version: 42, evaluatedAt: at },
      { key: 'dark-mode', enabled: false, id: 3, version: 1, evaluatedAt: at },
    ]);
    expect(parsed.requestId).toBe('req-1');
    expect(parsed.incomplete).toBe(false);
    expect(parsed.failed.size).toBe(0);
  });

  it('reads has_experiment and the lean gate only when they are booleans `true` / a boolean', () => {
    const entry = (hasExperiment: unknown) => ({ enabled: true, metadata: { has_experiment: hasExperiment } });
    const flags = { a: entry(true), b: entry(false), c: entry('true'), d: entry(1) };
    const lean = parseFlagsResponse({ flags, minimalFlagCalledEvents: true }, at);
    expect([...lean.flags.values()].map((flag) => flag.hasExperiment)).toEqual([true, false, undefined, undefined]);
    expect(lean.minimalFlagCalledEvents).toBe(true);
    expect(parseFlagsResponse({ flags, minimalFlagCalledEvents: 'true' }, at).minimalFlagCalledEvents).toBe(false);
    expect(parseFlagsResponse({ flags, minimal_flag_called_events: true }, at).minimalFlagCalledEvents).toBe(false);
  });

  it('drops a reason code that is not of the shape PostHog sends', () => {
    const reason = (code: unknown) => ({ enabled: true, reason: { code, description: 'd' } });
    const parsed = parseFlagsResponse({ flags: { a: reason('x'.repeat(65)), b: reason(7), c: reason('Drop;') } }, at);
    expect([...parsed.flags.values()].map((flag) => flag.reasonCode)).toEqual([undefined, undefined, undefined]);
  });

  it('keeps a payload that is not JSON as its string', () => {
    const parsed = parseFlagsResponse({ flags: { a: { enabled: true, metadata: { payload: 'plain' } } } }, at);
    expect(parsed.flags.get('a')?.payload).toBe('plain');
  });

  it('files failed and malformed entries as failed, and drops keys PostHog cannot produce', () => {
    const parsed = parseFlagsResponse(
      {
        flags: {
          a: { enabled: false, failed: true },
          b: { enabled: 'yes' },
          c: null,
          'bad key!': { enabled: true },
          ok: { enabled: true },
        },
        errorsWhileComputingFlags: true,
      },
      at,
    );
    expect([...parsed.flags.keys()]).toEqual(['ok']);
    expect([...parsed.failed]).toEqual(['a', 'b', 'c']);
    expect(parsed.incomplete).toBe(true);
  });

  it('reads the v1 shape', () => {
    const parsed = parseFlagsResponse(
      { featureFlags: { a: true, b: false, c: 'control', d: 3 }, featureFlagPayloads: { a: '[1,2]' } },
      at,
    );
    expect(parsed.flags.get('a')).toEqual({ key: 'a', enabled: true, payload: [1, 2], evaluatedAt: at });
    expect(parsed.flags.get('b')?.enabled).toBe(false);
    expect(parsed.flags.get('c')).toMatchObject({ enabled: true, variant: 'control' });
    expect([...parsed.failed]).toEqual(['d']);
  });

  it.each([
    [null, 'bad_response'],
    [[1, 2], 'bad_response'],
    ['flags', 'bad_response'],
    [{ flags: [] }, 'bad_response'],
    [{ something: 'else' }, 'bad_response'],
    [{ flags: {}, quotaLimited: ['feature_flags'] }, 'quota_limited'],
  ])('rejects %p as %s', (body, reason) => {
    expect(() => parseFlagsResponse(body, at)).toThrow(UpstreamError);
    try {
      parseFlagsResponse(body, at);
    } catch (error) {
      expect((error as UpstreamError).reason).toBe(reason);
    }
  });

  it('keeps a __proto__ key as an entry without touching prototypes', () => {
    const parsed = parseFlagsResponse(JSON.parse('{"flags": {"__proto__": {"enabled": true}}}'), at);
    expect(parsed.flags.get('__proto__')?.enabled).toBe(true);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});
