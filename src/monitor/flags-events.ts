import type { ExposureStatus } from './exposure-status.js';
import type { FlagSource, FlagValue } from '../flags.types.js';
import type { CircuitState } from '../pipeline/circuit-breaker.js';
import type { UpstreamFailureReason } from '../pipeline/upstream-error.js';

/** A flag was answered (or, with source `unknown`, could not be). */
export interface FlagEvaluatedEvent {
  type: 'flag_evaluated';
  key: string;
  source: FlagSource | 'unknown';
  /** The variant, else `enabled`; absent when unknown. */
  value?: FlagValue;
  /** Only with the module option `eventsIncludeDistinctId`. */
  distinctId?: string;
  at: Date;
}

/** An upstream call failed (after its retries). */
export interface UpstreamFailedEvent {
  type: 'upstream_failed';
  /** `batch` for exposure events that could not be delivered (no distinct id); absent for `/flags`. */
  endpoint?: 'batch';
  reason: UpstreamFailureReason;
  at: Date;
}

/** The circuit breaker opened (calls go straight to the fallback) or closed again. */
export interface CircuitChangedEvent {
  type: 'circuit_opened' | 'circuit_closed';
  /** Why it opened: the failure that tipped it. */
  reason?: UpstreamFailureReason;
  at: Date;
}

/** A fallback-cache read or write failed; its message never holds a password. */
export interface CacheErrorEvent {
  type: 'cache_error';
  backend: string;
  message: string;
  at: Date;
}

/** Flag definitions were loaded (local evaluation), from PostHog, the shared Redis key or your `definitionsStore`. */
export interface DefinitionsLoadedEvent {
  type: 'definitions_loaded';
  source: 'upstream' | 'redis' | 'store' | 'snapshot';
  /** How many flags they define (0 after PostHog's quota limit: nothing is evaluated locally). */
  flags: number;
  /**
   * The keys of the flags added, removed or changed since the definitions loaded before (every flag when the
   * cohorts or group types changed), sorted; empty when the new definitions say the same.
   */
  flagsChanged: string[];
  at: Date;
}

/** A poll of `/flags/definitions` failed; the definitions loaded stay in force. */
export interface DefinitionsFailedEvent {
  type: 'definitions_failed';
  reason: UpstreamFailureReason;
  at: Date;
}

/** Everything `FlagsService.events$` emits. */
export type FlagsEvent =
  | FlagEvaluatedEvent
  | UpstreamFailedEvent
  | CircuitChangedEvent
  | CacheErrorEvent
  | DefinitionsLoadedEvent
  | DefinitionsFailedEvent;

/** Where answers have come from, counted since startup (per flag; see `unknown`). */
export interface FlagsCounts {
  /** Evaluated in-process from the flag definitions. */
  local: number;
  remote: number;
  cache: number;
  fallback: number;
  override: number;
  /**
   * Answers missing: each flag asked by key that got no result; each flag known to exist that an evaluation of every
   * flag lacks (PostHog named it and failed to compute it, or local evaluation left it to PostHog), nothing cached;
   * and each evaluation of every flag that got no flag at all while PostHog did not answer (down, cut by shutdown, an
   * incomplete answer) and the cache held nothing for the user: one per such evaluation, whatever flags it lacks.
   */
  unknown: number;
  /** Upstream calls that failed, after retries (calls the open circuit refused are not calls). */
  upstreamFailures: number;
}

/** What `FlagsService.status()` reports. */
export interface FlagsStatus {
  /** `ok`: the last call succeeded (or none was made); `degraded`: it failed; `down`: the circuit is open. */
  upstream: 'ok' | 'degraded' | 'down';
  circuit: CircuitState;
  cache: { backend: string; connected: boolean };
  lastSuccessAt?: Date;
  lastFailure?: { at: Date; reason: UpstreamFailureReason };
  counts: FlagsCounts;
  /** Exposure events (`$feature_flag_called`): waiting, sent, dropped, and the last delivery failure. */
  exposures: ExposureStatus;
  /** Local evaluation's flag definitions: where from, how many, how fresh. */
  definitions: DefinitionsStatus;
}

/** The flag definitions local evaluation uses. */
export interface DefinitionsStatus {
  /**
   * `off`: no local evaluation; `polling`: this instance has the secret key and may poll PostHog; `cache-only`: no
   * secret key, it reads the shared store only and never asks PostHog for the definitions.
   */
  mode: 'off' | 'polling' | 'cache-only';
  /**
   * `upstream`: polled from PostHog by this instance; `redis`: read from the shared key; `store`: read from your
   * `definitionsStore`; `snapshot`: read from the snapshot file at startup; `none`: not loaded.
   */
  source: 'upstream' | 'redis' | 'store' | 'snapshot' | 'none';
  /** How many flags they define. */
  flags: number;
  /** When they were last loaded or confirmed unchanged (`304`). */
  loadedAt?: Date;
  /**
   * When PostHog was last polled for them, by this instance or by the poller that published them (read from the
   * shared store), or when another SDK's poller was last seen holding the lock.
   */
  polledAt?: Date;
  /** PostHog's ETag of what this instance last polled. */
  etag?: string;
  /**
   * Local evaluation is ready: definitions with at least one flag are in force (`FlagsService.isLocalEvaluationReady()`).
   * Not ready is not degraded: flags are asked of PostHog `/flags` meanwhile.
   */
  ready: boolean;
  /** Whether this instance is the one polling PostHog (it holds the shared lock, or has no shared store). */
  poller: boolean;
  /** The last failed poll of `/flags/definitions` (the same shape as {@link FlagsStatus.lastFailure}). */
  lastFailure?: { at: Date; reason: UpstreamFailureReason };
  /** Polls of `/flags/definitions` failed in a row (0 once one succeeds). */
  failedPolls: number;
  /** At least 3 polls in a row failed: the definitions are not being refreshed; the health indicator says `degraded`. */
  failing: boolean;
  /**
   * Local evaluation is on and PostHog was last polled for the definitions (by any instance) more than 3 poll
   * intervals ago: the health indicator says `degraded`.
   */
  stale: boolean;
}

export type { CircuitState };
