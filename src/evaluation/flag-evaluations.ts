import { flagCalled, type MissingFlag } from '../exposures/flag-called.js';
import type { FlagErrors } from '../exposures/flag-errors.js';
import { flagValue, type FlagContext, type FlagResult, type FlagValue, type PostHogBootstrap } from '../flags.types.js';
import type { UnresolvedReason } from '../local/engine/unresolved-reason.js';
import { freezeResult } from './flag-results.js';
import { frozenReasons } from './frozen-reasons.js';
import { AccessedFlags } from './accessed-flags.js';
import { JoinedResults } from './joined-results.js';
import type { FlagReadOptions, IsEnabledOptions } from './flag-read-options.js';
import type { EarlierAnswer, SnapshotHost, SnapshotInit } from './snapshot-host.js';
import { setOwn } from '../util/own.js';
import { assertKeyList, listedKeys } from '../util/flag-key.js';

/** A new snapshot (the class's constructor is its own: snapshots are made by the module, never by hand). */
export let createSnapshot: (init: SnapshotInit) => FlagEvaluations;

/**
 * The flags of `snapshot` among `keys`, as a snapshot that is not a slice (an unknown key's read sends its event)
 * and shares the reads of `snapshot` (a read of one counts as read in both).
 */
export let narrowSnapshot: (
  snapshot: FlagEvaluations,
  keys: readonly string[] | undefined,
  sendsEvents: boolean | undefined,
) => FlagEvaluations;

/**
 * One snapshot of two answers for the same context: `first`'s for the keys it was asked (`keys`), `later`'s for
 * the rest. Reads are shared with `first` (a read of one counts as read in both).
 */
export let joinSnapshots: (
  first: FlagEvaluations,
  keys: ReadonlySet<string>,
  later: FlagEvaluations,
) => FlagEvaluations;

/**
 * The flags evaluated for one user at one time, as posthog-node's `FeatureFlagEvaluations`: read them as often as
 * needed without another evaluation. `isEnabled` and `getFlag` send the user's `$feature_flag_called` on the first
 * read of each value (deduplicated across snapshots, per distinct id, flag, value and groups); `getFlagPayload` is
 * silent. `eventProperties()` gives the `$feature/<key>` properties to capture with an event, `onlyAccessed()` and
 * `only(keys)` slice the snapshot. Results and payloads are frozen. A snapshot is pinned to the answer it was made
 * from (local evaluation's: the definitions and the time of the evaluation); a flag's result may be built when
 * first read, with the value it had then. An empty distinct id gives an empty snapshot that
 * sends nothing.
 */
export class FlagEvaluations {
  readonly #host: SnapshotHost;
  readonly #context: FlagContext;
  readonly #results: ReadonlyMap<string, FlagResult>;
  readonly #unresolved: Readonly<Record<string, UnresolvedReason>>;
  readonly #accessed: AccessedFlags;
  readonly #slice: boolean;
  readonly #partial: boolean;
  readonly #sendsEvents: boolean;
  readonly #geoipDisabled: boolean;
  readonly #errors: FlagErrors | undefined;
  readonly #every: boolean;
  readonly #earlier: EarlierAnswer<FlagEvaluations> | undefined;

  /** Made by `FlagsService.evaluateFlags()` and `@Flags()`, never by hand. */
  private constructor(init: SnapshotInit) {
    this.#host = init.host;
    this.#context = init.context;
    this.#results = init.results;
    this.#unresolved = frozenReasons(init.unresolved);
    this.#accessed = init.accessed ?? new AccessedFlags();
    this.#slice = init.slice ?? false;
    this.#partial = init.partial ?? false;
    this.#sendsEvents = init.sendsEvents ?? init.host.sendsEvents;
    this.#geoipDisabled = init.geoipDisabled ?? init.host.geoipDisabled;
    this.#errors = init.errors;
    this.#every = init.every ?? false;
    this.#earlier = init.earlier as EarlierAnswer<FlagEvaluations> | undefined;
  }

  /** The distinct id the flags were evaluated for. */
  get distinctId(): string {
    return this.#context.distinctId;
  }

  /** The keys of every flag known in this snapshot. */
  get keys(): string[] {
    return [...this.#results.keys()];
  }

  /**
   * The flags asked that have no result, and why: local evaluation's reason where it left the flag undecided and
   * nothing else answered (PostHog's: `experience_continuity`, `unsupported_definition`, `unresolved_dependency`,
   * `missing_context`), else ours, `unavailable`, for a key asked that neither PostHog nor the fallback cache could
   * answer.
   */
  get unresolvedFlags(): Readonly<Record<string, UnresolvedReason>> {
    return this.#unresolved;
  }

  /** Whether the flag is on; `defaultValue` (default `false`) when unknown. A read: sends the exposure. */
  isEnabled(key: string, options?: IsEnabledOptions): boolean {
    this.#read(key, options?.sendFeatureFlagEvents);
    return this.#results.get(key)?.enabled ?? options?.defaultValue ?? false;
  }

  /** The flag's variant, else whether it is on; `undefined` when unknown. A read: sends the exposure. */
  getFlag(key: string, options?: FlagReadOptions): FlagValue | undefined {
    this.#read(key, options?.sendFeatureFlagEvents);
    const result = this.#results.get(key);
    return result && flagValue(result);
  }

  /** The flag's whole result, with its `source`; `undefined` when unknown. A read: sends the exposure. */
  getFlagResult(key: string, options?: FlagReadOptions): FlagResult | undefined {
    this.#read(key, options?.sendFeatureFlagEvents);
    return this.#frozen(key);
  }

  /** The flag's payload, parsed (frozen); `undefined` when it has none or is unknown. Silent: not a read. */
  getFlagPayload<T = unknown>(key: string): T | undefined {
    this.#host.flagRead?.(this.#context, key, this.#results, this.#geoipDisabled);
    return this.#frozen(key)?.payload as T | undefined;
  }

  /** A snapshot of the flags read so far (by `isEnabled`, `getFlag`, `getFlagResult`), for an event's properties. */
  onlyAccessed(): FlagEvaluations {
    const results = new Map<string, FlagResult>();
    for (const key of this.#accessed) {
      const result = this.#results.get(key);
      if (result) results.set(key, result);
    }
    return this.#sliceWith(results);
  }

  /** A snapshot of these keys only (an array, else a TypeError); unknown keys are dropped, with a warning. */
  only(keys: readonly string[]): FlagEvaluations {
    assertKeyList('FlagEvaluations.only', keys);
    const results = new Map<string, FlagResult>();
    const missing: string[] = [];
    for (const key of keys) {
      const result = this.#results.get(key);
      if (result) results.set(key, result);
      else missing.push(key);
    }
    if (missing.length > 0) {
      this.#host.warn(
        `FlagEvaluations.only() was called with flag keys that are not in the evaluation set and will be dropped: ${listedKeys(missing)}`,
      );
    }
    return this.#sliceWith(results);
  }

  /**
   * `{ '$feature/<key>': value, ..., $active_feature_flags: [...] }` for every flag in the snapshot, to spread into
   * posthog-node's `capture({ properties })`. Sends nothing.
   */
  eventProperties(): Record<string, unknown> {
    this.#everyFlagRead();
    const properties: Record<string, unknown> = {};
    const active: string[] = [];
    for (const [key, result] of this.#results) {
      setOwn(properties, `$feature/${key}`, flagValue(result));
      if (result.enabled) active.push(key);
    }
    if (active.length > 0) properties.$active_feature_flags = active.sort();
    return properties;
  }

  /**
   * The flags in posthog-js's `bootstrap` shape, for a server-rendered page: the ones a browser evaluates, so not
   * those the flag definitions mark `server` (runtime `client` and `all` stay). Sends nothing.
   */
  bootstrap(): PostHogBootstrap {
    this.#everyFlagRead();
    const featureFlags: Record<string, FlagValue> = {};
    const featureFlagPayloads: Record<string, unknown> = {};
    for (const [key, result] of this.#results) {
      if (this.#host.serverOnly(key)) continue;
      setOwn(featureFlags, key, flagValue(result));
      if (result.payload !== undefined) setOwn(featureFlagPayloads, key, freezeResult(result).payload);
    }
    return { distinctID: this.#context.distinctId, featureFlags, featureFlagPayloads };
  }

  /** Every result in the snapshot, by key (a map of the caller's own). Sends nothing. */
  toMap(): Map<string, FlagResult> {
    this.#everyFlagRead();
    const results = new Map<string, FlagResult>();
    for (const [key, result] of this.#results) results.set(key, freezeResult(result));
    return results;
  }

  /**
   * The flag's result, frozen with its payload before it leaves the snapshot. Results are frozen when handed out,
   * not when the snapshot is made: one of local evaluation's is built only when first read.
   */
  #frozen(key: string): FlagResult | undefined {
    const result = this.#results.get(key);
    return result && freezeResult(result);
  }

  /** Tells the host every flag of the snapshot was read (for the fallback cache). */
  #everyFlagRead(): void {
    this.#host.everyFlagRead?.(this.#context, this.#results, this.#every, this.#geoipDisabled);
  }

  /**
   * Counts the read as an access (the first one told to the host); sends its event unless events are off for it,
   * or the user has no id.
   */
  #read(key: string, sendFeatureFlagEvents: boolean | undefined): void {
    if (this.#accessed.add(key)) {
      this.#host.flagRead?.(this.#context, key, this.#results, this.#geoipDisabled);
    }
    if (!(sendFeatureFlagEvents ?? this.#sendsEvents)) return;
    if (this.#context.distinctId === '') return;
    const result = this.#results.get(key);
    if (this.#slice && !result) return;
    // A forced value is no exposure: an experiment must not count it.
    if (result?.source === 'override') return;
    if (result && this.#host.exposureSent?.(this.#context, result)) return;
    const local = Object.hasOwn(this.#unresolved, key) && this.#unresolved[key] !== 'unavailable';
    const missing: MissingFlag = local ? 'local_evaluation_inconclusive' : 'flag_missing';
    const circumstances = { missing, geoipDisabled: this.#geoipDisabled, errors: this.#errorsOf(key) };
    const called = flagCalled(this.#context, key, result, circumstances, this.#host);
    this.#host.exposed(this.#context, called);
  }

  /** What the reads of `key` say in `$feature_flag_error`: the errors of the answer that gave it. */
  #errorsOf(key: string): FlagErrors | undefined {
    const earlier = this.#earlier;
    return earlier?.keys.has(key) ? earlier.snapshot.#errorsOf(key) : this.#errors;
  }

  static {
    createSnapshot = (init) => new FlagEvaluations(init);
    joinSnapshots = (first, keys, later) => {
      const unresolved: Record<string, UnresolvedReason> = {};
      for (const [key, reason] of Object.entries(later.#unresolved))
        if (!keys.has(key)) setOwn(unresolved, key, reason);
      for (const [key, reason] of Object.entries(first.#unresolved)) if (keys.has(key)) setOwn(unresolved, key, reason);
      return new FlagEvaluations({
        host: first.#host,
        context: first.#context,
        results: new JoinedResults(first.#results, keys, later.#results),
        unresolved,
        accessed: first.#accessed,
        partial: later.#partial,
        every: later.#every,
        sendsEvents: first.#sendsEvents,
        geoipDisabled: first.#geoipDisabled,
        errors: later.#errors,
        earlier: { snapshot: first, keys },
      });
    };
    narrowSnapshot = (snapshot, keys, sendsEvents) => {
      let results = snapshot.#results;
      let unresolved = snapshot.#unresolved;
      if (keys) {
        const narrowed = new Map<string, FlagResult>();
        const stillUnresolved: Record<string, UnresolvedReason> = {};
        for (const key of keys) {
          const result = results.get(key);
          if (result) narrowed.set(key, result);
          else if (Object.hasOwn(unresolved, key)) setOwn(stillUnresolved, key, unresolved[key]!);
          else if (snapshot.#partial && !snapshot.#earlier?.keys.has(key)) setOwn(stillUnresolved, key, 'unavailable');
        }
        [results, unresolved] = [narrowed, stillUnresolved];
      }
      const { host, context, accessed } = {
        host: snapshot.#host,
        context: snapshot.#context,
        accessed: snapshot.#accessed,
      };
      return new FlagEvaluations({
        host,
        context,
        results,
        unresolved,
        accessed,
        partial: keys === undefined && snapshot.#partial,
        every: keys === undefined && snapshot.#every,
        sendsEvents: sendsEvents ?? snapshot.#sendsEvents,
        geoipDisabled: snapshot.#geoipDisabled,
        errors: snapshot.#errors,
        earlier: snapshot.#earlier,
      });
    };
  }

  #sliceWith(results: Map<string, FlagResult>): FlagEvaluations {
    return new FlagEvaluations({
      host: this.#host,
      context: this.#context,
      results,
      unresolved: this.#unresolved,
      accessed: new AccessedFlags(this.#accessed),
      slice: true,
      sendsEvents: this.#sendsEvents,
      geoipDisabled: this.#geoipDisabled,
      errors: this.#errors,
      earlier: this.#earlier,
    });
  }
}
