import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { FLAGS_CONFIG } from '../flags.constants.js';
import type { EvaluatedFlag, FlagContext, FlagResult } from '../flags.types.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { CacheAccess } from './cache-access.js';
import { otherGeoipId } from './evaluation.js';
import { canNameFlag } from '../util/flag-key.js';
import { contextFingerprint, contextKey } from './flag-context.js';
import { lruGet } from '../util/lru-lookup.js';
import { LocalResults } from '../local/engine/local-results.js';

/** A user whose requests read every flag (`getAllFlags`, `bootstrap`, `eventProperties()`): every flag is kept. */
const ALL_READ = 'every';

/** The flags a user's requests read: their keys, or every flag. */
type ReadKeys = ReadonlySet<string> | typeof ALL_READ;

/**
 * How many users' reads are remembered at most, the least recently looked up forgotten first (a read found marked
 * on a local answer is no lookup: see {@link FlagReads}).
 */
export const MAX_READING_USERS = 100_000;

/** How many flag keys are remembered at most, over every user (a user who read every flag counts one). */
export const MAX_READ_KEYS = 1_000_000;

/**
 * Which flags each user's requests read, so that the fallback cache keeps for a user what they read, not every flag
 * of the project (unless the cache URL says `keep=all`). A flag read for the first time, whose result PostHog gave,
 * is written at once: the answer's own write came before the read. Bounded; a user forgotten is kept nothing
 * more until they read again. A read recorded from a remembered local answer is marked on the answer
 * ({@link LocalResults.markRead}): the user's next read of it is told apart there, without a lookup here, until a
 * user is forgotten (every mark then stops holding, and each user's next read is looked up again, bringing the user
 * back to the front of the bound).
 */
@Injectable()
export class FlagReads {
  private readonly users = new LRUCache<string, ReadKeys>({
    max: MAX_READING_USERS,
    maxSize: MAX_READ_KEYS,
    sizeCalculation: (keys) => (keys === ALL_READ ? 1 : Math.max(1, keys.size)),
    // A record over this is not kept (lru-cache's default, made ours: `flagRead` relies on it).
    maxEntrySize: MAX_READ_KEYS,
    dispose: (_keys, _distinctId, reason) => {
      if (reason !== 'set') this.mark = {};
    },
  });
  /** What a read recorded leaves on a local answer; a new one whenever a user's record is let go or not kept. */
  private mark: object = {};
  /** The cache keeps every flag of every answer (`keep=all`, or `fresh`): nothing to remember. */
  private readonly keepsEvery: boolean;
  private readonly geoipDisabled: boolean;

  constructor(
    private readonly cache: CacheAccess,
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
  ) {
    this.keepsEvery = config.cache.keepEveryFlag;
    this.geoipDisabled = config.disableGeoip;
  }

  /** The flags of an answer to keep for the user: every one, or those the user's requests read (maybe none). */
  kept(distinctId: string, flags: readonly EvaluatedFlag[]): readonly EvaluatedFlag[] {
    if (this.keepsEvery) return flags;
    const read = this.users.get(distinctId);
    if (read === ALL_READ) return flags;
    return read ? flags.filter((flag) => read.has(flag.key)) : [];
  }

  /**
   * Whether the entries hold every flag the user's requests read (`false` when none is known, or every flag is
   * read: then only every entry does).
   */
  holdsWhatIsRead(distinctId: string, entries: readonly EvaluatedFlag[]): boolean {
    const read = this.users.get(distinctId);
    if (read === undefined || read === ALL_READ || read.size > entries.length) return false;
    let held = 0;
    for (const entry of entries) if (read.has(entry.key)) held++;
    return held === read.size;
  }

  /**
   * Whether the entries hold each of `keys` the user's requests read, one at least (`false` when none is known, or
   * every flag is read: then only an entry for each key asked does).
   */
  holdsReadOf(distinctId: string, keys: readonly string[], entries: readonly EvaluatedFlag[]): boolean {
    const read = this.users.get(distinctId);
    if (read === undefined || read === ALL_READ) return false;
    const held = new Set(entries.map((entry) => entry.key));
    let wanted = 0;
    for (const key of keys) {
      if (!read.has(key)) continue;
      if (!held.has(key)) return false;
      wanted++;
    }
    return wanted > 0;
  }

  /**
   * A snapshot's read of `key` for `context`: remembered for the user, and, the first time, its result written when
   * PostHog gave it. Nothing is allocated when the user read the flag before, nor for a key that cannot name a flag;
   * nothing is looked up when the read is of a local answer's result marked since the last user was forgotten.
   */
  flagRead(context: FlagContext, key: string, results: ReadonlyMap<string, FlagResult>, geoipDisabled: boolean): void {
    if (this.keepsEvery || context.distinctId === '') return;
    const local = results instanceof LocalResults ? results : undefined;
    if (local?.readMark(key) === this.mark || !canNameFlag(key)) return;
    const { distinctId } = context;
    const read = lruGet(this.users, distinctId);
    let kept = true;
    if (read !== ALL_READ && !read?.has(key)) {
      const keys = new Set(read).add(key);
      this.users.set(distinctId, keys);
      kept = keys.size <= MAX_READ_KEYS;
      // A record over the bound is not kept (lru-cache drops it, disposing as for a replacement): marks left for the
      // user must stop holding, as for a user evicted, whatever answer this read was of.
      if (!kept) this.mark = {};
      const result = results.get(key);
      if (result?.source === 'remote') this.write(context, [result], geoipDisabled);
    }
    if (kept) local?.markRead(key, this.mark);
  }

  /**
   * A read of every flag of a snapshot (`getAllFlags`, `bootstrap`, `eventProperties()`): with `every` (the
   * snapshot holds every flag of its evaluation), the user reads every flag from now on; else each of its keys is
   * read. The results PostHog gave are written (the cache writes what changed).
   */
  everyFlagRead(
    context: FlagContext,
    results: ReadonlyMap<string, FlagResult>,
    every: boolean,
    geoipDisabled: boolean,
  ): void {
    if (this.keepsEvery || context.distinctId === '') return;
    const read = this.users.get(context.distinctId);
    if (read === ALL_READ) return;
    if (!every) {
      for (const key of results.keys()) this.flagRead(context, key, results, geoipDisabled);
      return;
    }
    this.users.set(context.distinctId, ALL_READ);
    const remote = [...results.values()].filter((result) => result.source === 'remote' && !read?.has(result.key));
    if (remote.length > 0) this.write(context, remote, geoipDisabled);
  }

  /** Writes results read for the first time, under the fingerprint the evaluation that gave them wrote. */
  private write(context: FlagContext, results: FlagResult[], geoipDisabled: boolean): void {
    const id = contextKey(context);
    const fingerprint = contextFingerprint(context, geoipDisabled === this.geoipDisabled ? id : otherGeoipId(id));
    void this.cache.write(context.distinctId, results, false, fingerprint);
  }
}
