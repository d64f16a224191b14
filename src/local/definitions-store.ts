import type { FlagDefinitionsData } from './definitions.js';

/**
 * Where flag definitions are shared between instances, picked by the cache URL like the fallback cache: in the
 * process (`memory://`), or a Redis key with a poller lock (`redis://`), in PostHog's published provider format.
 */
export interface DefinitionsStore {
  /** Where loaded definitions come from, for `status()`: `redis` when shared. */
  readonly source: 'redis' | undefined;
  /**
   * Whether this instance polls PostHog now: it holds (or just took, or renewed) the poller lock. Rejects when the
   * store is unreachable (the caller then polls PostHog itself).
   */
  shouldPoll(): Promise<boolean>;
  /**
   * The shared definitions; `undefined` when there are none; the same object as last time when they have not
   * changed. Rejects when unreachable or unreadable.
   */
  load(): Promise<FlagDefinitionsData | undefined>;
  /** Shares definitions the poller received. Rejects when they could not be written. */
  publish(definitions: FlagDefinitionsData): Promise<void>;
  /** Gives the poller's role up (on shutdown), if this instance holds it. Never rejects. */
  release(): Promise<void>;
}

/** `memory://`: the definitions live in the process, which always polls PostHog itself. */
export const IN_PROCESS_DEFINITIONS: DefinitionsStore = Object.freeze({
  source: undefined,
  shouldPoll: () => Promise.resolve(true),
  load: () => Promise.resolve(undefined),
  publish: () => Promise.resolve(),
  release: () => Promise.resolve(),
});
