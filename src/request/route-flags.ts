import { canNameFlag, vettedKeys } from '../util/flag-key.js';
import type { SnapshotOptions } from '../evaluation/snapshot-factory.js';

/** How many flag keys a route learns at most: past it, its requests ask for every flag. */
export const MAX_ROUTE_KEYS = 64;

/** Handlers that take `@Flags()`: a snapshot read synchronously may read any flag, so they ask for every flag. */
const takingSnapshots = new WeakSet<object>();

/** Marks `handler` as taking the request's snapshot (`@Flags()`): its requests ask PostHog for every flag. */
export function markTakesSnapshot(handler: object): void {
  takingSnapshots.add(handler);
}

/**
 * What a request asks for a context: some flags (`keys`, each once, frozen; `set` the same) or every flag, and the
 * options of a snapshot of them (made once: the guard's path allocates nothing for them).
 */
export type FlagsAsked = (
  | { readonly keys: readonly string[]; readonly set: ReadonlySet<string> }
  | { readonly keys: undefined; readonly set: undefined }
) & { readonly options: SnapshotOptions };

/** Every flag. */
export const EVERY_FLAG_ASKED: FlagsAsked = Object.freeze({ keys: undefined, set: undefined, options: {} });

/**
 * What each route (a handler) asks PostHog for when its request first needs a user's flags, so that a request pays
 * for the flags it reads, not for the project. A route's first request asks for every flag, and what its requests
 * need is learned: the keys its `@FeatureFlag` guard checks and those `FlagsService` calls name. From then on its
 * requests ask for those keys, one call per request; a request that needs more asks for them then (a second call),
 * and they are learned. Every flag for a handler that takes `@Flags()` (its snapshot may be read for any flag),
 * once its requests read every flag (`evaluateFlags()`, `getAllFlags()`, `bootstrap()`), or past
 * {@link MAX_ROUTE_KEYS} keys. Keyed by handler (weakly).
 */
export class RouteFlags {
  private readonly routes = new WeakMap<object, FlagsAsked>();

  /**
   * What a new snapshot for a request of `handler` asks for, now that the request needs `wanted` (every flag when
   * `undefined`, learned first): every flag on the route's first request, else its keys. Without a handler,
   * `wanted` alone. Allocates nothing once `wanted` is known.
   */
  ask(handler: object | undefined, wanted: readonly string[] | undefined): FlagsAsked {
    if (!handler) return askedOf(wanted);
    const known = this.routes.get(handler);
    if (known) return this.learned(handler, known, wanted);
    this.firstSeen(handler, wanted);
    return EVERY_FLAG_ASKED;
  }

  /**
   * Learns that a request of `handler` needs `wanted` (every flag when `undefined`): what its route asks now;
   * `undefined` without a handler.
   */
  learn(handler: object | undefined, wanted: readonly string[] | undefined): FlagsAsked | undefined {
    if (!handler) return undefined;
    const known = this.routes.get(handler);
    return known ? this.learned(handler, known, wanted) : this.firstSeen(handler, wanted);
  }

  /** A route seen for the first time, needing `wanted`: every flag for a handler taking `@Flags()`, else `wanted`. */
  private firstSeen(handler: object, wanted: readonly string[] | undefined): FlagsAsked {
    const first = takingSnapshots.has(handler) ? EVERY_FLAG_ASKED : routeAsked(wanted);
    this.routes.set(handler, first);
    return first;
  }

  /** The route's keys with `wanted` among them. */
  private learned(handler: object, known: FlagsAsked, wanted: readonly string[] | undefined): FlagsAsked {
    if (known.set === undefined || (wanted !== undefined && holdsEvery(known.set, wanted))) return known;
    const kept = routeAsked(wanted && [...known.keys, ...wanted]);
    this.routes.set(handler, kept);
    return kept;
  }
}

/** `keys` as a route asks them ({@link askedOf}): every flag past {@link MAX_ROUTE_KEYS} keys. */
function routeAsked(keys: readonly string[] | undefined): FlagsAsked {
  const asked = askedOf(keys);
  return asked.keys !== undefined && asked.keys.length > MAX_ROUTE_KEYS ? EVERY_FLAG_ASKED : asked;
}

/** `keys` (every flag when `undefined`) as asked: those that can name a flag, each once. */
export function askedOf(keys: readonly string[] | undefined): FlagsAsked {
  if (keys === undefined) return EVERY_FLAG_ASKED;
  const set = new Set(keys.filter(canNameFlag));
  const flagKeys = vettedKeys([...set]);
  return Object.freeze({ keys: flagKeys, set, options: Object.freeze({ flagKeys }) });
}

/** Whether `set` holds every key of `keys` that can name a flag. */
export function holdsEvery(set: ReadonlySet<string>, keys: readonly string[]): boolean {
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    if (!set.has(key) && canNameFlag(key)) return false;
  }
  return true;
}
