import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { EvaluatedFlag } from '../flags.types.js';
import { MemoryFlagCache } from './memory-flag-cache.js';

const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000);
const keysOf = (flags: EvaluatedFlag[]) => flags.map((flag) => flag.key);
const memory = (ttlSeconds: number, size: number, maxBytes = 1_000_000) =>
  new MemoryFlagCache({ backend: 'memory', ttlSeconds, freshSeconds: 0, keepEveryFlag: false, size, maxBytes });

describe('MemoryFlagCache', () => {
  it('serves entries younger than ttl, for the keys asked or every known key', async () => {
    const cache = memory(60, 10);
    await cache.write(
      'u',
      [
        { key: 'young', enabled: true, evaluatedAt: secondsAgo(59) },
        { key: 'old', enabled: true, evaluatedAt: secondsAgo(61) },
        { key: 'other', enabled: false, evaluatedAt: secondsAgo(1) },
      ],
      true,
      '',
    );
    const some = cache.read('u', ['young', 'old', 'missing']);
    expect(keysOf(some.flags)).toEqual(['young']);
    expect(some.complete).toBe(false);
    expect(cache.read('u', ['young', 'other'])).toMatchObject({ complete: true });
    const all = cache.read('u');
    expect(keysOf(all.flags)).toEqual(['young', 'other']);
    expect(all.complete).toBe(false);
    expect(cache.read('nobody')).toEqual({ flags: [], complete: false });
  });

  it("hands a read of a route's keys (a frozen list) out again until the user's entries change", async () => {
    const cache = memory(60, 10);
    const flag = (key: string, enabled: boolean) => ({ key, enabled, evaluatedAt: secondsAgo(1) });
    await cache.write('u', [flag('beta', true), flag('other', true)], true, '');
    const routeKeys = Object.freeze(['beta']);
    const first = cache.read('u', routeKeys);
    expect(cache.read('u', routeKeys)).toBe(first);
    expect(cache.read('u', ['beta'])).not.toBe(first);
    expect(cache.read('u', ['beta'])).toEqual(first);
    await cache.write('u', [flag('beta', false)], false, '');
    const after = cache.read('u', routeKeys);
    expect(after).not.toBe(first);
    expect(after.flags.map(({ enabled }) => enabled)).toEqual([false]);
  });

  it('reads some keys as complete without a key no whole evaluation named (one entry at least)', async () => {
    const cache = memory(60, 10);
    const flag = (key: string) => ({ key, enabled: true, evaluatedAt: secondsAgo(1) });
    await cache.write('u', [flag('beta')], false, '');
    expect(cache.read('u', ['beta', 'no-such-flag']).complete).toBe(false);
    await cache.write('u', [flag('beta'), flag('checkout')], true, '');
    const routeKeys = Object.freeze(['beta', 'no-such-flag']);
    expect(cache.read('u', routeKeys).complete).toBe(true);
    expect(cache.read('u', ['no-such-flag']).complete).toBe(false);
    expect(cache.read('u', ['checkout', 'other']).complete).toBe(true);
    await cache.write('v', [flag('other')], false, '');
    expect(cache.read('u', routeKeys).complete).toBe(true);
    expect(cache.read('u', ['checkout', 'other']).complete).toBe(false);
  });

  describe('a read of every known flag', () => {
    afterEach(() => {
      jest.useRealTimers();
    });

    it("is handed out again until the user's write, a change of the known keys, or an entry passing the ttl", async () => {
      jest.useFakeTimers({ now: Date.parse('2026-12-05T12:00:00Z') });
      const cache = memory(60, 10);
      await cache.write('u', [{ key: 'a', enabled: true, evaluatedAt: secondsAgo(30) }], true, '');
      const first = cache.read('u');
      expect(cache.read('u')).toBe(first);
      expect(cache.read('u', ['a'])).not.toBe(first);

      await cache.write('u', [{ key: 'a', enabled: false, evaluatedAt: secondsAgo(0) }], false, '');
      const written = cache.read('u');
      expect(written).not.toBe(first);
      expect(written.flags.map((flag) => flag.enabled)).toEqual([false]);
      await cache.write('someone', [{ key: 'a', enabled: true, evaluatedAt: secondsAgo(0) }], false, '');
      await cache.write('someone', [{ key: 'a', enabled: true, evaluatedAt: secondsAgo(0) }], true, '');
      expect(cache.read('u')).toBe(written);

      await cache.write('other', [{ key: 'b', enabled: true, evaluatedAt: secondsAgo(0) }], false, '');
      const keysChanged = cache.read('u');
      expect(keysChanged).not.toBe(written);
      expect(keysChanged).toMatchObject({ complete: false });

      jest.advanceTimersByTime(59_000);
      expect(cache.read('u')).toBe(keysChanged);
      jest.advanceTimersByTime(1_000);
      expect(cache.read('u')).toEqual({ flags: [], complete: false });
    });
  });

  it('knows the keys of the last whole evaluation, plus any written since', async () => {
    const cache = memory(60, 10);
    const now = new Date();
    await cache.write(
      'a',
      [
        { key: 'x', enabled: true, evaluatedAt: now },
        { key: 'gone', enabled: true, evaluatedAt: now },
      ],
      true,
      '',
    );
    await cache.write('a', [{ key: 'x', enabled: true, evaluatedAt: now }], true, '');
    expect(cache.read('a')).toMatchObject({ complete: true });
    await cache.write('b', [{ key: 'y', enabled: true, evaluatedAt: now }], false, '');
    expect(keysOf(cache.read('b').flags)).toEqual(['y']);
    expect(cache.read('a')).toMatchObject({ complete: false });
  });

  it('merges later writes per flag and evicts the least recently used user', async () => {
    const cache = memory(60, 2);
    await cache.write('a', [{ key: 'x', enabled: true, evaluatedAt: new Date() }], false, '');
    await cache.write('a', [{ key: 'y', enabled: false, evaluatedAt: new Date() }], false, '');
    await cache.write('b', [{ key: 'x', enabled: true, evaluatedAt: new Date() }], false, '');
    cache.read('a');
    await cache.write('c', [{ key: 'x', enabled: true, evaluatedAt: new Date() }], false, '');
    expect(keysOf(cache.read('a').flags)).toEqual(['x', 'y']);
    expect(cache.read('b').flags).toEqual([]);
  });
});

describe('MemoryFlagCache bounded by bytes', () => {
  const flag = (key: string, payload?: unknown): EvaluatedFlag => ({
    key,
    enabled: true,
    payload,
    evaluatedAt: new Date(),
  });

  it('keeps the most recently used users within maxBytes, counting ids and payloads', async () => {
    const cache = memory(60, 10_000, 100_000);
    const bigId = (index: number) => `${index}-${'x'.repeat(10_000)}`;
    for (let index = 0; index < 50; index++) await cache.write(bigId(index), [flag('beta')], false, '');
    expect(cache.read(bigId(49)).flags).toHaveLength(1);
    expect(cache.read(bigId(0)).flags).toHaveLength(0);
    const kept = Array.from({ length: 50 }, (_, index) => cache.read(bigId(index))).filter(
      (read) => read.flags.length > 0,
    );
    expect(kept.length).toBeGreaterThan(1);
    expect(kept.length * 20_000).toBeLessThanOrEqual(100_000);
  });

  it('keeps a payload of any depth (20,000 levels overflowed the call stack when its size was counted)', async () => {
    const cache = memory(60, 10);
    const payload: unknown = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    await cache.write('u', [{ key: 'deep', enabled: true, payload, evaluatedAt: secondsAgo(1) }], true, '');
    expect(cache.read('u', ['deep']).flags[0]?.payload).toBe(payload);
  });

  it('does not keep a user whose flags alone pass maxBytes', async () => {
    const cache = memory(60, 10, 10_000);
    await cache.write('small', [flag('beta')], false, '');
    await cache.write('huge', [flag('beta', 'y'.repeat(20_000))], false, '');
    expect(cache.read('huge').flags).toEqual([]);
    expect(cache.read('small').flags).toHaveLength(1);
  });

  it('remembers the context each result was evaluated for', async () => {
    const cache = memory(60, 10);
    await cache.write('u', [flag('beta')], false, 'ctx-a');
    expect(cache.read('u', ['beta']).flags[0]).toMatchObject({ key: 'beta', context: 'ctx-a' });
  });
});
