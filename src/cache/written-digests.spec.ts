import { describe, expect, it } from '@jest/globals';
import type { EvaluatedFlag } from '../flags.types.js';
import { WrittenDigests } from './written-digests.js';
import { WrittenFlagKeys } from './written-flag-keys.js';

const flag = (key: string, atSeconds: number, enabled = true): EvaluatedFlag => ({
  key,
  enabled,
  evaluatedAt: new Date(atSeconds * 1000),
});
const keysOf = (flags: EvaluatedFlag[]) => flags.map(({ key }) => key);

describe('WrittenDigests', () => {
  it('passes what changed, and every flag of a user once their oldest entry is due', () => {
    const digests = new WrittenDigests(50_000);
    expect(keysOf(digests.changed('u', [flag('a', 0), flag('b', 10)], ''))).toEqual(['a', 'b']);
    expect(keysOf(digests.changed('u', [flag('a', 20), flag('b', 20, false)], ''))).toEqual(['b']);
    expect(keysOf(digests.changed('u', [flag('a', 20)], 'other context'))).toEqual(['a']);
    expect(keysOf(digests.changed('u', [flag('b', 49, false)], ''))).toEqual([]);
    // a was written at 0 (due at 50): the user's digests are forgotten, what this answer holds is written.
    expect(keysOf(digests.changed('u', [flag('b', 50, false)], ''))).toEqual(['b']);
    expect(digests.believesWritten('u', 'a')).toBe(false);
  });

  it('stays within its bounds, forgetting the least recently written users first', () => {
    const digests = new WrittenDigests(50_000, { maxUsers: 2, maxDigests: 3 });
    digests.changed('u1', [flag('a', 0)], '');
    digests.changed('u2', [flag('a', 0), flag('b', 0)], '');
    digests.changed('u3', [flag('a', 0)], '');
    expect(['u1', 'u2', 'u3'].map((user) => digests.believesWritten(user, 'a'))).toEqual([false, true, true]);
    expect(keysOf(digests.changed('u1', [flag('a', 1)], ''))).toEqual(['a']);
  });
});

describe('WrittenFlagKeys', () => {
  it('replaces the set when a whole answer differs, adds new keys, and sends it again when due', () => {
    let now = 0;
    const keys = new WrittenFlagKeys(1000, () => now);
    expect(keys.update(['a', 'b'], true)).toEqual({ replace: true, keys: ['a', 'b'] });
    expect(keys.update(['b', 'a'], true)).toBeUndefined();
    expect(keys.update(['a'], false)).toBeUndefined();
    expect(keys.update(['a', 'c'], false)).toEqual({ replace: false, keys: ['c'] });
    expect(keys.update(['a', 'b', 'c'], true)).toBeUndefined(); // replaced with a, b, then c added: exactly these
    expect(keys.update(['a', 'b'], true)).toEqual({ replace: true, keys: ['a', 'b'] });
    expect(keys.update(['a', 'b', 'c'], true)).toEqual({ replace: true, keys: ['a', 'b', 'c'] });
    now = 999;
    expect(keys.update(['a', 'b', 'c'], true)).toBeUndefined();
    now = 1000;
    expect(keys.update(['a', 'b', 'c'], true)).toEqual({ replace: true, keys: ['a', 'b', 'c'] });
    keys.forget();
    expect(keys.update(['a'], false)).toEqual({ replace: false, keys: ['a'] });
  });
});
