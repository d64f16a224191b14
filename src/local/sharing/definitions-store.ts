import type { FlagDefinitionsData } from '../definitions.js';
import type { SharedDefinitions } from '../shared-definitions.js';

/** What a shared-definitions store needs to know of the instance using it. */
export interface DefinitionsStoreSettings {
  /** The project's fingerprint (a hash of its API key): another project's definitions are never adopted. */
  fingerprint: string;
  /** How long the poller lock lasts unless renewed: 3 poll intervals, at least 5 s, at most 60 s. */
  lockTtlMs: number;
}

/**
 * Who polls after a round of the lock: `poller` (this instance holds it); `follower` (another does);
 * `follower, lock given a ttl`: another holder had left the lock without a TTL (it would never have expired), and
 * it was given the lock's TTL, its holder unchanged: the role is taken over within one TTL unless renewed;
 * `poller, lock replaced`: the lock key held another Redis type (nobody could ever have held it), and this
 * instance's lock replaced it.
 */
export type LockRole = 'poller' | 'follower' | 'follower, lock given a ttl' | 'poller, lock replaced';

/** What a follower found in the shared store. */
export type SharedRead =
  /** Definitions of this project (or written by another SDK's provider, which cannot say whose they are). */
  | {
      kind: 'definitions';
      /** The same object as last time when the value has not changed. */
      shared: SharedDefinitions;
      /** When PostHog was last polled (by the publisher, a `304` included); undefined when it does not say. */
      polledAt?: number;
      /** Whether someone holds the poller lock with a TTL (a live poller: ours, or another SDK's). */
      lockHeld: boolean;
    }
  | { kind: 'missing'; lockHeld: boolean }
  /** Another project's definitions (two projects configured with one prefix and service). */
  | { kind: 'foreign'; lockHeld: boolean }
  /** Garbage, a wrong shape, or over the size bound: `problem` says which. */
  | { kind: 'unusable'; problem: string; lockHeld: boolean };

/** What the poller's {@link DefinitionsStore.keep} did. */
export type KeepOutcome =
  | { kind: 'kept' }
  /** The value was written: `repaired` says what the key held instead (absent when this poller changed it). */
  | { kind: 'published'; repaired?: 'missing' | 'unusable' | 'foreign' };

/**
 * Where flag definitions are shared between instances, picked by the cache URL like the fallback cache: in the
 * process (`memory://`), or a Redis key with a sidecar and a poller lock (`redis://`), in PostHog's published
 * provider format; or your own (`definitionsStore`, posthog-node's provider semantics), whatever the URL.
 */
export interface DefinitionsStore {
  /**
   * Where loaded definitions come from, for `status()`: `redis` or `store` (a `definitionsStore`) when shared,
   * `snapshot` for the snapshot file of `memory://…?snapshot=`.
   */
  readonly source: 'redis' | 'store' | 'snapshot' | undefined;
  /** Where they are kept, for log lines: the key, the prefix and the service. */
  readonly description: string;
  /**
   * Whether this instance polls PostHog now: `poller` when it holds (or just took, or renewed) the poller lock.
   * Rejects when the store is unreachable (the caller then polls PostHog itself).
   */
  shouldPoll(): Promise<LockRole>;
  /**
   * What the store holds, read cheaply and boundedly: the value only when it changed, never more than the bound
   * (the sidecar: 4 KiB); a key of another Redis type is `unusable`. Rejects when unreachable.
   * @throws {SharedDefinitionsReadError} naming the key whose read failed.
   */
  load(): Promise<SharedRead>;
  /**
   * The poller's call at every poll: makes sure the store holds `data` stamped `stamp` (republished when missing,
   * unreadable, another project's or older), refreshes its expiry and the sidecar's poll time.
   * @throws {SharedDefinitionsWriteError} saying what failed (serialising, the size bound, the write).
   */
  keep(data: FlagDefinitionsData, stamp: { polledAt: number; etag?: string }): Promise<KeepOutcome>;
  /** On shutdown: gives up what this instance holds (the poller's role, connections). Never rejects. */
  release(): Promise<void>;
}

/** Reading the shared store failed (it is unreachable); the message names the key. */
export class SharedDefinitionsReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SharedDefinitionsReadError';
  }
}

/** Publishing the definitions failed; the message says what failed. */
export class SharedDefinitionsWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SharedDefinitionsWriteError';
  }
}

/** `memory://`: the definitions live in the process, which always polls PostHog itself. */
export const IN_PROCESS_DEFINITIONS: DefinitionsStore = Object.freeze({
  source: undefined,
  description: 'in process',
  shouldPoll: () => Promise.resolve('poller' as const),
  load: () => Promise.resolve({ kind: 'missing', lockHeld: false } as const),
  keep: () => Promise.resolve({ kind: 'kept' } as const),
  release: () => Promise.resolve(),
});
