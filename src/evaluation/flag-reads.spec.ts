import { describe, expect, it } from '@jest/globals';
import type { EvaluatedFlag, FlagResult } from '../flags.types.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import type { CacheAccess } from './cache-access.js';
import { FlagReads } from './flag-reads.js';

const evaluatedAt = new Date();
const remote = (key: string): FlagResult => ({ key, enabled: true, source: 'remote', evaluatedAt });
const answer: EvaluatedFlag[] = ['a', 'b', 'c'].map(remote);
const results = new Map(answer.map((flag) => [flag.key, flag as FlagResult]));

/** FlagReads over a cache that records its writes (`keep=all` when `keepEveryFlag`). */
function reads(keepEveryFlag = false) {
  const writes: { distinctId: string; keys: string[]; context: string }[] = [];
  const cache = {
    write: async (distinctId: string, flags: readonly EvaluatedFlag[], _whole: boolean, context: string) => {
      writes.push({ distinctId, keys: flags.map(({ key }) => key), context });
    },
  } as unknown as CacheAccess;
  const config = { cache: { keepEveryFlag }, disableGeoip: false } as ResolvedFlagsOptions;
  return { reads: new FlagReads(cache, config), writes };
}

const keysOf = (flags: readonly EvaluatedFlag[]) => flags.map(({ key }) => key);

describe('FlagReads', () => {
  it("keeps of an answer the flags the user read, writing a flag at its first read; nothing of another user's", () => {
    const { reads: flagReads, writes } = reads();
    expect(flagReads.kept('u', answer)).toEqual([]);
    flagReads.flagRead({ distinctId: 'u' }, 'b', results, false);
    flagReads.flagRead({ distinctId: 'u' }, 'b', results, false);
    expect(writes).toEqual([{ distinctId: 'u', keys: ['b'], context: '' }]);
    expect(keysOf(flagReads.kept('u', answer))).toEqual(['b']);
    expect(flagReads.kept('v', answer)).toEqual([]);
    expect(flagReads.holdsWhatIsRead('u', [remote('b')])).toBe(true);
    expect(flagReads.holdsWhatIsRead('u', [remote('a')])).toBe(false);
  });

  it('keeps every flag for a user who read every flag of a whole snapshot, each key of a narrower one', () => {
    const { reads: flagReads, writes } = reads();
    flagReads.everyFlagRead({ distinctId: 'u' }, new Map([['a', remote('a')]]), false, false);
    expect(keysOf(flagReads.kept('u', answer))).toEqual(['a']);
    flagReads.everyFlagRead({ distinctId: 'u' }, results, true, true);
    expect(keysOf(flagReads.kept('u', answer))).toEqual(['a', 'b', 'c']);
    // The whole snapshot's evaluation had GeoIP of its own: its fingerprint is that id's.
    expect(writes.map(({ keys, context }) => [keys, context === ''])).toEqual([
      [['a'], true],
      [['b', 'c'], false],
    ]);
    expect(flagReads.holdsWhatIsRead('u', answer)).toBe(false);
  });

  it('says whether the entries hold the keys asked that the user read: one at least, each of them', () => {
    const { reads: flagReads } = reads();
    expect(flagReads.holdsReadOf('u', ['a', 'b'], [remote('a')])).toBe(false);
    flagReads.flagRead({ distinctId: 'u' }, 'a', results, false);
    expect(flagReads.holdsReadOf('u', ['a', 'b'], [remote('a')])).toBe(true);
    expect(flagReads.holdsReadOf('u', ['b', 'c'], [])).toBe(false);
    flagReads.flagRead({ distinctId: 'u' }, 'b', results, false);
    expect(flagReads.holdsReadOf('u', ['a', 'b'], [remote('a')])).toBe(false);
    flagReads.everyFlagRead({ distinctId: 'v' }, results, true, false);
    expect(flagReads.holdsReadOf('v', ['a', 'b'], [remote('a')])).toBe(false);
  });

  it('with keep=all keeps every flag and remembers nothing', () => {
    const { reads: flagReads, writes } = reads(true);
    flagReads.flagRead({ distinctId: 'u' }, 'a', results, false);
    expect(flagReads.kept('u', answer)).toBe(answer);
    expect(writes).toEqual([]);
  });
});
