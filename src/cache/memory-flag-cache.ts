import { LRUCache } from 'lru-cache';
import type { EvaluatedFlag } from '../flags.types.js';
import type { MemoryCacheConfig } from './cache-config.js';
import { cachedFlags, type CachedFlag, type CachedFlags, type FlagCache } from './flag-cache.js';
import { jsonText } from '../util/json-text.js';
import { refreshAfterMs, sameEntry } from './write-rule.js';
import { lruGet } from '../util/lru-lookup.js';

/** The most flags whose remote config payload is kept in memory; the least recently used goes first. */
const MAX_REMOTE_CONFIGS = 1000;

/** What a user's entry costs beyond its contents (the map, its entries, the dates), in bytes, roughly. */
const ENTRY_OVERHEAD_BYTES = 200;

/** A read of a user's flags, handed out again until an entry of it passes the `ttl`. */
interface RememberedRead {
  /** The keys it was read for: the known keys (replaced, never changed, when they change), or a route's (frozen). */
  keys: readonly string[];
  read: CachedFlags;
  /** The known keys when it was read: whether a read of some keys is complete depends on them. */
  knownKeys: readonly string[];
  /** When its first entry passes the `ttl` (ms since the epoch). */
  until: number;
}

/**
 * The `memory://` backend: per-process, holding the flags of the `size` most recently used distinct ids, and no
 * more than `maxBytes` of them (ids, keys, variants, reasons and payloads counted as their JSON text).
 */
export class MemoryFlagCache implements FlagCache {
  readonly backend = 'memory';
  readonly connected = true;
  /** Each user's entries by flag key: replaced on every write, never changed in place. */
  private readonly users: LRUCache<string, ReadonlyMap<string, CachedFlag>>;
  /**
   * The last read of every known flag, by the user's entries it was read from: the guard reads every flag of the
   * user on every request, and until a write replaces the entries (or the known keys change, or an entry passes
   * the `ttl`) the read is the same. Read-only, as every read is.
   */
  private readonly everyFlagReads = new WeakMap<ReadonlyMap<string, CachedFlag>, RememberedRead>();
  /** The last read of a frozen list of keys (a route's, asked on each of its requests), as {@link everyFlagReads}. */
  private readonly keyedReads = new WeakMap<ReadonlyMap<string, CachedFlag>, RememberedRead>();
  /** Every flag key of the last whole evaluation, plus any seen since; replaced, never changed in place. */
  private knownKeys: readonly string[] = [];
  private knownKeysAsSet?: { keys: readonly string[]; set: ReadonlySet<string> };
  /** Whether a whole evaluation was written: then {@link knownKeys} is every flag of the project (and more). */
  private wholeWritten = false;
  /** The stored remote config payloads by flag key: at most 1000, and at most `maxBytes` of text. */
  private readonly remoteConfigs: LRUCache<string, string>;

  /** How old a stored entry may get before an unchanged result replaces it ({@link refreshAfterMs}). */
  private readonly refreshAfterMs: number;

  constructor(private readonly config: MemoryCacheConfig) {
    this.refreshAfterMs = refreshAfterMs(config);
    this.users = new LRUCache({ max: config.size, maxSize: config.maxBytes, sizeCalculation: sizeOf });
    this.remoteConfigs = new LRUCache({
      max: MAX_REMOTE_CONFIGS,
      maxSize: config.maxBytes,
      sizeCalculation: (stored, key) => ENTRY_OVERHEAD_BYTES + (stored.length + key.length) * 2,
    });
  }

  read(distinctId: string, keys?: readonly string[]): CachedFlags {
    const known = lruGet(this.users, distinctId);
    if (!known || (keys && !Object.isFrozen(keys))) return this.readOf(known, keys, Date.now());
    const reads = keys ? this.keyedReads : this.everyFlagReads;
    const readKeys = keys ?? this.knownKeys;
    const now = Date.now();
    const remembered = reads.get(known);
    if (
      remembered &&
      remembered.keys === readKeys &&
      remembered.knownKeys === this.knownKeys &&
      now < remembered.until
    ) {
      return remembered.read;
    }
    return this.rememberedRead(reads, known, keys, now);
  }

  /** A new read of `keys` of the user's entries, remembered until they change or one passes the `ttl`. */
  private rememberedRead(
    reads: WeakMap<ReadonlyMap<string, CachedFlag>, RememberedRead>,
    known: ReadonlyMap<string, CachedFlag>,
    keys: readonly string[] | undefined,
    now: number,
  ): CachedFlags {
    const read = this.readOf(known, keys, now);
    let oldest = Infinity;
    for (const flag of read.flags) oldest = Math.min(oldest, flag.evaluatedAt.getTime());
    const { knownKeys } = this;
    reads.set(known, { keys: keys ?? knownKeys, read, knownKeys, until: oldest + this.config.ttlSeconds * 1000 });
    return read;
  }

  /**
   * The `keys` (every known key when undefined) of the user's entries (none when `known` is undefined) within the
   * `ttl`; a read of some keys is complete without those no whole evaluation named ({@link cachedFlags}). (The
   * lookup is made here, not in `read`: a function whose variables a closure captures allocates their context on
   * every call.)
   */
  private readOf(
    known: ReadonlyMap<string, CachedFlag> | undefined,
    keys: readonly string[] | undefined,
    now: number,
  ): CachedFlags {
    const project = keys && this.wholeWritten ? this.knownKeySet() : undefined;
    return cachedFlags(keys ?? this.knownKeys, (key) => known?.get(key), this.config.ttlSeconds, now, project);
  }

  /** {@link knownKeys} as a set, made once per list. */
  private knownKeySet(): ReadonlySet<string> {
    if (this.knownKeysAsSet?.keys !== this.knownKeys) {
      this.knownKeysAsSet = { keys: this.knownKeys, set: new Set(this.knownKeys) };
    }
    return this.knownKeysAsSet.set;
  }

  /**
   * Replaces the user's entries with a copy holding the results that differ from the stored ones, or whose stored
   * entry is half-way to expiry; when none does, nothing changes (and the user's remembered read stays valid).
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise by contract; async makes a throw a rejection
  async write(
    distinctId: string,
    flags: readonly EvaluatedFlag[],
    whole: boolean,
    context: string,
    answered: readonly string[] = flags.map((flag) => flag.key),
  ): Promise<void> {
    const stored = this.users.get(distinctId);
    let known: Map<string, CachedFlag> | undefined;
    for (const flag of flags) {
      const entry = stored?.get(flag.key);
      if (entry && !this.isDue(entry, flag) && sameEntry(entry, flag, context)) continue;
      known ??= new Map(stored);
      known.set(flag.key, storedEntry(flag, context));
    }
    if (known) this.users.set(distinctId, known);
    this.knownKeys = knownKeysAfter(this.knownKeys, answered, whole);
    this.wholeWritten ||= whole;
  }

  /** Whether the stored entry is half-way to expiry by the new result's time: written again even if unchanged. */
  private isDue(entry: CachedFlag, flag: EvaluatedFlag): boolean {
    return flag.evaluatedAt.getTime() >= entry.evaluatedAt.getTime() + this.refreshAfterMs;
  }

  readRemoteConfig(flagKey: string): string | undefined {
    return this.remoteConfigs.get(flagKey);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise by contract; async makes a throw a rejection
  async writeRemoteConfig(flagKey: string, stored: string): Promise<void> {
    this.remoteConfigs.set(flagKey, stored);
  }

  /** Nothing to release: what it holds still answers, without I/O, calls made after the application closed. */
  async close(): Promise<void> {}

  /** Each user's entries, most recently used first (for the snapshot file). */
  *entries(): Iterable<[string, Iterable<CachedFlag>]> {
    for (const [distinctId, known] of this.users.entries()) yield [distinctId, known.values()];
  }

  /** Puts entries read from the snapshot file back, as the user's most recently used; their keys become known. */
  restore(distinctId: string, flags: readonly CachedFlag[]): void {
    this.users.set(distinctId, new Map(flags.map((flag) => [flag.key, flag])));
    this.knownKeys = knownKeysAfter(
      this.knownKeys,
      flags.map((flag) => flag.key),
      false,
    );
  }
}

/** The entry stored for a result: its fields, without what only the answer carried (its source, request id). */
function storedEntry(flag: EvaluatedFlag, context: string): CachedFlag {
  const entry: CachedFlag = { key: flag.key, enabled: flag.enabled, evaluatedAt: flag.evaluatedAt, context };
  if (flag.variant !== undefined) entry.variant = flag.variant;
  if (flag.payload !== undefined) entry.payload = flag.payload;
  if (flag.reason !== undefined) entry.reason = flag.reason;
  if (flag.reasonCode !== undefined) entry.reasonCode = flag.reasonCode;
  if (flag.id !== undefined) entry.id = flag.id;
  if (flag.version !== undefined) entry.version = flag.version;
  if (flag.hasExperiment !== undefined) entry.hasExperiment = flag.hasExperiment;
  return entry;
}

/** What a user's flags cost in memory, roughly: their text, as JSON would write it, plus a fixed overhead each. */
function sizeOf(flags: ReadonlyMap<string, CachedFlag>, distinctId: string): number {
  let bytes = ENTRY_OVERHEAD_BYTES + distinctId.length * 2;
  for (const flag of flags.values()) {
    bytes += ENTRY_OVERHEAD_BYTES + (flag.key.length + (flag.variant?.length ?? 0) + (flag.reason?.length ?? 0)) * 2;
    if (flag.payload !== undefined) bytes += jsonText(flag.payload).length * 2;
  }
  return bytes;
}

/**
 * The known keys after a write: a whole evaluation's keys, else the known ones plus any new. The same array when
 * they do not change, so that the remembered reads of every user (checked against it) stay valid: most writes
 * are refreshes of the same flags.
 */
function knownKeysAfter(known: readonly string[], keys: readonly string[], whole: boolean): readonly string[] {
  if (whole) return keys.length === known.length && keys.every((key, index) => key === known[index]) ? known : keys;
  const all = new Set(known);
  for (const key of keys) all.add(key);
  return all.size === known.length ? known : [...all];
}
