import type { EvaluatedFlag, FlagResult, FlagSource } from '../flags.types.js';
import { deepFreeze } from '../util/deep-freeze.js';

/**
 * Results by flag key, as a stage makes them (the `results` of its `StageAnswer`). Read-only once handed out: a map
 * may be shared (a context's remembered local answer, a coalesced call's answer, the request's snapshot), so a stage
 * that changes results makes a map of its own first.
 */
export type FlagResults = Map<string, FlagResult>;

/**
 * Results as an evaluation hands them on: read-only, and maybe built when first read (local evaluation's answer to
 * every flag, `LocalResults`).
 */
export type ReadResults = ReadonlyMap<string, FlagResult>;

/** Results now when a stage could answer synchronously, else a promise of them. */
export type MaybePromise<T> = T | Promise<T>;

/** The flags as results from `source`, by key. */
export function withSource(flags: Iterable<EvaluatedFlag>, source: FlagSource, requestId?: string): FlagResults {
  const results: FlagResults = new Map();
  for (const flag of flags) results.set(flag.key, resultOf(flag, source, requestId));
  return results;
}

/** A source of results read from the fallback cache. */
type StoredSource = Extract<FlagSource, 'cache' | 'fallback'>;

/**
 * Results made from stored entries, by source and entry: the memory cache hands out the same entry object on every
 * read until it is written again, so its result is made (and frozen, payload included) once, not on every request.
 */
const STORED_RESULTS: Record<StoredSource, WeakMap<EvaluatedFlag, FlagResult>> = {
  cache: new WeakMap(),
  fallback: new WeakMap(),
};

/** The stored entries as results from `source`, by key: each entry's result made once, frozen. */
export function withStoredSource(flags: Iterable<EvaluatedFlag>, source: StoredSource): FlagResults {
  const made = STORED_RESULTS[source];
  const results: FlagResults = new Map();
  for (const flag of flags) {
    let result = made.get(flag);
    if (!result) made.set(flag, (result = freezeResult(resultOf(flag, source))));
    results.set(flag.key, result);
  }
  return results;
}

/**
 * Freezes a result and its payload, all the way down; the result. A frozen result is left as it is: local
 * evaluation's remembered results and the stored entries' results are frozen with their payloads already, and
 * walking them again on every request costs.
 */
export function freezeResult(result: FlagResult): FlagResult {
  if (Object.isFrozen(result)) return result;
  deepFreeze(result.payload);
  return Object.freeze(result);
}

/**
 * The flag as a result from `source`. Built field by field: an object spread with an added property takes V8's
 * slow path (about a microsecond), and this runs for every flag of every answer.
 */
export function resultOf(flag: EvaluatedFlag, source: FlagSource, requestId?: string): FlagResult {
  const result: FlagResult = { key: flag.key, enabled: flag.enabled, evaluatedAt: flag.evaluatedAt, source };
  if (flag.variant !== undefined) result.variant = flag.variant;
  if (flag.payload !== undefined) result.payload = flag.payload;
  if (flag.reason !== undefined) result.reason = flag.reason;
  if (flag.reasonCode !== undefined) result.reasonCode = flag.reasonCode;
  if (flag.id !== undefined) result.id = flag.id;
  if (flag.version !== undefined) result.version = flag.version;
  if (flag.hasExperiment !== undefined) result.hasExperiment = flag.hasExperiment;
  if (requestId !== undefined) result.requestId = requestId;
  return result;
}

/** A map of its own with the entries of `results`, then every entry of `more`. */
export function merged(results: ReadResults, more: ReadResults): FlagResults {
  const all = new Map(results);
  for (const [key, result] of more) all.set(key, result);
  return all;
}

/** A map of its own, holding only the results of `keys`. */
export function onlyKeys(results: ReadResults, keys: readonly string[]): FlagResults {
  const answer: FlagResults = new Map();
  for (const key of keys) {
    const result = results.get(key);
    if (result) answer.set(key, result);
  }
  return answer;
}
