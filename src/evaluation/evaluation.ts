import type { FlagContext } from '../flags.types.js';
import { contextFingerprint } from './flag-context.js';

/**
 * One evaluation's question: for whom, which keys (every flag when undefined), and the key it is shared under.
 * An evaluation of every flag is shared under the context's own key (`contextKey`); one of some keys under their JSON
 * array, a line feed, then the context's key. The two never meet: a context's key is a `"` and a distinct id, or
 * JSON (which escapes every line feed), while the other starts with `[` and holds a line feed.
 */
export interface Evaluation {
  /**
   * Shared by every evaluation of the same context and keys (coalescing, refreshes); `contextId` itself when every
   * flag is asked. Made when first read: an answer from the cache or local evaluation never needs it.
   */
  readonly key: string;
  readonly context: FlagContext;
  /** The context's {@link contextKey}: also the key of an evaluation of every flag of the context. */
  readonly contextId: string;
  /** What cached results remember of the context ({@link contextFingerprint}): `''` for a bare distinct id. */
  readonly fingerprint: string;
  /** The keys asked of PostHog and the cache (every flag when undefined): the question's, less what was local. */
  readonly keys?: readonly string[];
  /** `geoip_disable` for this evaluation; default: the module's (when not the module's, see {@link otherGeoipId}). */
  readonly disableGeoip?: boolean;
}

/**
 * The id a context's evaluations go by when their `disableGeoip` is not the module's: its `contextKey` after a `~`.
 * PostHog may answer differently with GeoIP on, so such an evaluation shares nothing with the context's others
 * (evaluations in flight, held answers, the `fresh` window's fingerprint). A `contextKey` starts with `"` or `[`.
 */
export function otherGeoipId(contextId: string): string {
  return `~${contextId}`;
}

/** The JSON text of each frozen list of keys asked (a route's keys), made once. */
const keysTexts = new WeakMap<readonly string[], string>();

/** `keys` as JSON text: made once for a frozen list (a route's keys, asked on every request of the route). */
function keysText(keys: readonly string[]): string {
  if (!Object.isFrozen(keys)) return JSON.stringify(keys);
  let text = keysTexts.get(keys);
  if (text === undefined) keysTexts.set(keys, (text = JSON.stringify(keys)));
  return text;
}

/**
 * The evaluation of `keys` (every flag when undefined) for a parsed context, shared under that question's key;
 * `remoteKeys`: only these are asked of PostHog and the cache (the ones local evaluation left undecided);
 * `disableGeoip` when the call gave one (when it is not the module's, `contextId` is an {@link otherGeoipId}).
 */
export function evaluationOf(
  context: FlagContext,
  contextId: string,
  keys?: readonly string[],
  remoteKeys: readonly string[] | undefined = keys,
  disableGeoip?: boolean,
): Evaluation {
  return new AskedEvaluation(
    context,
    contextId,
    contextFingerprint(context, contextId),
    keys,
    remoteKeys,
    disableGeoip,
  );
}

/** An {@link Evaluation} whose key is made when first read (a string built of parts allocates). */
class AskedEvaluation implements Evaluation {
  #key: string | undefined;

  constructor(
    readonly context: FlagContext,
    readonly contextId: string,
    readonly fingerprint: string,
    private readonly question: readonly string[] | undefined,
    readonly keys: readonly string[] | undefined,
    readonly disableGeoip: boolean | undefined,
  ) {}

  get key(): string {
    return (this.#key ??= this.question ? `${keysText(this.question)}\n${this.contextId}` : this.contextId);
  }
}
