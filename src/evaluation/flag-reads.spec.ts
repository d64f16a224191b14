import { describe, expect, it, jest } from '@jest/globals';
import { LRUCache } from 'lru-cache';
import type { EvaluatedFlag, FlagResult } from '../flags.types.js';
import { indexDefinitions, parseDefinitions } from '../local/definitions.js';
import { LocalResults } from '../local/engine/local-results.js';
import { localSubject } from '../local/engine/local-subject.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import type { CacheAccess } from './cache-access.js';
import { FlagReads, MAX_READING_USERS } from './flag-reads.js';

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

/** A remembered local answer of `distinctId` to one flag, `beta`, on for everyone. */
function localAnswerOf(distinctId: string): LocalResults {
  const flags = [{ key: 'beta', active: true, filters: { groups: [{ rollout_percentage: 100 }] } }];
  return new LocalResults(indexDefinitions(parseDefinitions({ flags })), localSubject({ distinctId }), evaluatedAt);
}

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

  it("marks a local answer's read: the user's next read of it looks nothing up", () => {
    const { reads: flagReads } = reads();
    const local = localAnswerOf('u');
    flagReads.flagRead({ distinctId: 'u' }, 'beta', local, false);
    expect(keysOf(flagReads.kept('u', [remote('beta')]))).toEqual(['beta']);
    const lookups = jest.spyOn(LRUCache.prototype, 'get');
    try {
      flagReads.flagRead({ distinctId: 'u' }, 'beta', local, false);
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
    // A flag it has no result for is remembered as read all the same.
    flagReads.flagRead({ distinctId: 'u' }, 'missing', local, false);
    expect(keysOf(flagReads.kept('u', [remote('beta'), remote('missing')]))).toEqual(['beta', 'missing']);
  });

  it('once a user is forgotten, no mark holds: a marked read records its user again', () => {
    const { reads: flagReads } = reads();
    const local = localAnswerOf('u');
    flagReads.flagRead({ distinctId: 'u' }, 'beta', local, false);
    flagReads.flagRead({ distinctId: 'u' }, 'beta', local, false);
    // As many users after `u` as the bound holds: `u` is forgotten, its answer's mark left as it was.
    for (let index = 0; index < MAX_READING_USERS; index++) {
      flagReads.flagRead({ distinctId: `other-${index}` }, 'a', results, false);
    }
    expect(flagReads.kept('u', [remote('beta')])).toEqual([]);
    flagReads.flagRead({ distinctId: 'u' }, 'beta', local, false);
    expect(keysOf(flagReads.kept('u', [remote('beta')]))).toEqual(['beta']);
  });
});
