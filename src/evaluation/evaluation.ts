import type { FlagContext } from '../flags.types.js';
import { contextFingerprint } from './flag-context.js';

/** One evaluation's question: for whom, which keys (every flag when undefined), and the key it is shared under. */
export interface Evaluation {
  /** Shared by every evaluation of the same context and keys (coalescing, refreshes). */
  key: string;
  /** The key of an evaluation of every flag of the same context (`key` itself when every flag is asked). */
  everyFlagKey: string;
  context: FlagContext;
  /** The context's {@link contextKey}. */
  contextId: string;
  /** What cached results remember of the context ({@link contextFingerprint}): `''` for a bare distinct id. */
  fingerprint: string;
  /** The keys asked of PostHog and the cache (every flag when undefined): the question's, less what was local. */
  keys?: readonly string[];
}

/**
 * The evaluation of `keys` (every flag when undefined) for a parsed context, shared under that question's key;
 * `remoteKeys`: only these are asked of PostHog and the cache (the ones local evaluation left undecided).
 */
export function evaluationOf(
  context: FlagContext,
  contextId: string,
  keys?: readonly string[],
  remoteKeys: readonly string[] | undefined = keys,
): Evaluation {
  const everyFlagKey = `${contextId}\n*`;
  const key = keys ? `${contextId}\n${JSON.stringify(keys)}` : everyFlagKey;
  const fingerprint = contextFingerprint(context, contextId);
  return { key, everyFlagKey, context, contextId, fingerprint, keys: remoteKeys };
}
