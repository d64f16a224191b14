import type { EvaluatedFlag } from '../flags.types.js';
import type { DefinitionsHome } from './definitions-home.js';

/**
 * A stored result, with the fingerprint of the context it was evaluated for (`contextFingerprint`); `undefined`
 * when the writer did not say (an entry another SDK wrote), which only ever serves as a fallback.
 */
export interface CachedFlag extends EvaluatedFlag {
  context?: string;
}

/** What a cache read found. Read-only: a memory cache hands the same read out again. */
export interface CachedFlags {
  /** The entries still young enough to serve (within the cache's `ttl`). */
  flags: CachedFlag[];
  /**
   * Whether there was such an entry for every key asked; for "every flag" reads, for every flag key the cache
   * knows of (from the last whole evaluation written), and at least one.
   */
  complete: boolean;
}

/**
 * Where the last known flag results live. The only storage seam the service knows: the cache URL picks the
 * implementation. Implementations never throw from `read` for bad stored data (a corrupt entry is a miss).
 */
export interface FlagCache {
  /** Which backend this is, for status and logs. */
  readonly backend: string;
  /** Whether the store is reachable now (always, for memory). */
  readonly connected: boolean;
  /**
   * The entries for `distinctId` still young enough to serve as fallbacks: for the given flag keys, or for
   * every flag key the cache knows of when `keys` is undefined. A store in the process answers synchronously (no
   * promise on the hot path); one across the network returns a promise.
   */
  read(distinctId: string, keys?: readonly string[]): CachedFlags | Promise<CachedFlags>;
  /**
   * Remembers the results of a successful evaluation for `distinctId`, each under its flag key, with the
   * fingerprint of the `context` they were evaluated for; an entry is written only when its result differs from
   * what this cache last wrote there, or when that entry is half-way to expiry (by the results' `evaluatedAt`).
   * `answered`: the keys the evaluation answered, when more than the flags kept (default: theirs); with `whole`,
   * they are every flag of the project (an evaluation of all flags with no failure), which become the known keys.
   */
  write(
    distinctId: string,
    flags: readonly EvaluatedFlag[],
    whole: boolean,
    context: string,
    answered?: readonly string[],
  ): Promise<void>;
  /**
   * Where local evaluation's flag definitions can be shared with other instances: the same store (and connection)
   * as the fallback entries. A cache without it leaves definitions in the process.
   */
  readonly definitionsHome?: DefinitionsHome;
  /**
   * The stored text of the last remote config payload written for `flagKey` (see `remote-config-entry.ts`);
   * `undefined` when there is none or the store is unreachable. Never throws.
   */
  readRemoteConfig(flagKey: string): string | undefined | Promise<string | undefined>;
  /** Keeps the stored text of a remote config payload for `flagKey`, for the cache's `ttl`; drops it when unreachable. */
  writeRemoteConfig(flagKey: string, stored: string): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/**
 * The read result for `keys`, given each key's stored entry (`entryOf(key, index)`, `undefined` when none): the
 * entries still within `ttlSeconds` at `now`, complete when each key has one. With `projectKeys` (the flags the
 * project is known to have), complete too when each key among them has one, and one key at least: a key the
 * project does not have is never cached, and must not keep a read from the cache (a route that once read a key
 * PostHog does not know). One pass, one array: it runs on every read.
 */
export function cachedFlags(
  keys: readonly string[],
  entryOf: (key: string, index: number) => CachedFlag | undefined,
  ttlSeconds: number,
  now = Date.now(),
  projectKeys?: ReadonlySet<string>,
): CachedFlags {
  const flags: CachedFlag[] = [];
  let missing = 0;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    const entry = entryOf(key, index);
    if (entry && isWithinTtl(entry.evaluatedAt, ttlSeconds, now)) flags.push(entry);
    else if (!projectKeys || projectKeys.has(key)) missing++;
  }
  return { flags, complete: flags.length > 0 && missing === 0 };
}

/** Whether an entry evaluated at `evaluatedAt` may still be served, given a `ttlSeconds` window. */
export function isWithinTtl(evaluatedAt: Date, ttlSeconds: number, now = Date.now()): boolean {
  return now - evaluatedAt.getTime() < ttlSeconds * 1000;
}
