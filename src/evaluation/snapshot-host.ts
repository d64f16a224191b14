import type { AccessedFlags } from './accessed-flags.js';
import type { FlagCalled, FlagCalledHost } from '../exposures/flag-called.js';
import type { FlagErrors } from '../exposures/flag-errors.js';
import type { FlagContext, FlagResult } from '../flags.types.js';
import type { UnresolvedReason } from '../local/engine/unresolved-reason.js';

/** What a snapshot asks of the module: exposures sent, warnings logged. */
export interface SnapshotHost extends FlagCalledHost {
  /** Whether reads send `$feature_flag_called` when the read does not say (the module's `sendFeatureFlagEvents`). */
  readonly sendsEvents: boolean;
  /** Whether reads' events carry `$geoip_disable: true` when the snapshot does not say (the module's `disableGeoip`). */
  readonly geoipDisabled: boolean;
  /** Whether the flag definitions mark the flag `server`: a browser never evaluates it (left out of `bootstrap()`). */
  serverOnly(key: string): boolean;
  /** Sends the event unless already sent for this user, flag, value and groups. */
  exposed(context: FlagContext, called: FlagCalled): void;
  /**
   * Whether reading `result` for `context` would send nothing: events are off or over, or this very result's event
   * was sent for the user (checked before the read's event is built: most reads repeat one).
   */
  exposureSent?(context: FlagContext, result: FlagResult): boolean;
  warn(message: string): void;
  /**
   * A flag read for the fallback cache (a snapshot's first read of it, or a payload read): what the user reads is
   * what the cache keeps for them. Called on a hot path: nothing may be allocated for a flag read before.
   */
  flagRead?(context: FlagContext, key: string, results: ReadonlyMap<string, FlagResult>, geoipDisabled: boolean): void;
  /** A read of every flag of a snapshot (`every`: of its evaluation's every flag), for the fallback cache. */
  everyFlagRead?(
    context: FlagContext,
    results: ReadonlyMap<string, FlagResult>,
    every: boolean,
    geoipDisabled: boolean,
  ): void;
}

/** What a snapshot is made of. */
export interface SnapshotInit {
  host: SnapshotHost;
  context: FlagContext;
  results: ReadonlyMap<string, FlagResult>;
  unresolved?: Readonly<Record<string, UnresolvedReason>>;
  /** The flags read so far, shared with the snapshot this one is made from. */
  accessed?: AccessedFlags;
  slice?: boolean;
  /**
   * Every flag was asked and the answer may lack flags no one named (PostHog did not answer, or its answer was
   * incomplete; see `StageAnswer`): a view of some keys calls a key it lacks `unavailable`.
   */
  partial?: boolean;
  /** Whether reads send their events when the read does not say. Default: the host's. */
  sendsEvents?: boolean;
  /** Whether reads' events carry `$geoip_disable: true`. Default: the host's. */
  geoipDisabled?: boolean;
  /** What the answer's reads say in `$feature_flag_error` (PostHog's incomplete answer, its failure). */
  errors?: FlagErrors;
  /** The results are every flag of an evaluation of every flag (not narrowed to keys, not a slice). */
  every?: boolean;
  /** A joined snapshot's earlier answer and the keys it gives (see `joinSnapshots`). */
  earlier?: EarlierAnswer;
}

/** The earlier answer of a joined snapshot (`snapshot`), and the keys it gives. */
export interface EarlierAnswer<Snapshot = object> {
  snapshot: Snapshot;
  keys: ReadonlySet<string>;
}
