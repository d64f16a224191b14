import { Inject, Injectable } from '@nestjs/common';
import { FLAGS_CONFIG } from '../flags.constants.js';
import type { FlagContext } from '../flags.types.js';
import { DefinitionsPoller } from '../local/definitions-poller.js';
import { LocalAnswers } from '../local/local-answers.js';
import type { LocalUnresolvedReason } from '../local/unresolved-reason.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { evaluationOf } from './evaluation.js';
import { merged, type MaybePromise, type ReadResults, type RemoteResults } from './flag-results.js';
import { Coalescer } from '../pipeline/coalesce.js';
import { MAX_REUSE_MS, SharedStage } from './shared-stage.js';
import type { FlagErrors } from '../exposures/flag-errors.js';

/** What local evaluation could not decide, and what the later stages answered. */
export interface LocalFirstAnswer {
  /** Every result known: local ones, then what the later stages answered for the rest. Read-only. */
  results: ReadResults;
  /** The defined flags local evaluation left undecided, and why (none without definitions). */
  unresolved: ReadonlyMap<string, LocalUnresolvedReason>;
  /** Keys asked further that neither PostHog nor the fallback cache could answer (see {@link RemoteResults}). */
  unanswered?: readonly string[];
  /** Every flag was asked further, and the answer may lack flags no one named (see {@link RemoteResults}). */
  partial?: true;
  /** What the exposures of the later stages' answer say in `$feature_flag_error` (see {@link RemoteResults}). */
  errors?: FlagErrors;
}

/** How one evaluation goes through local evaluation. */
export interface LocalFirstOptions {
  /** What the definitions leave undecided is unknown, not asked further. Default: the module's `onlyLocal`. */
  onlyLocal?: boolean;
  /**
   * Keeps the evaluation joinable by the same context until this settles (see {@link SharedStage}); an evaluation
   * of every flag is then held whole, local results included, as the context's answer.
   */
  reuseUntil?: () => PromiseLike<unknown>;
  /**
   * `geoip_disable` for what is asked of PostHog; default: the module's. When it is not the module's, `contextId` is
   * an `otherGeoipId`.
   */
  disableGeoip?: boolean;
}

/**
 * The flag definitions decide what they can (`local`), synchronously, a context's answer to every flag remembered
 * until the definitions change ({@link LocalAnswers}); only the keys they leave undecided (or all, without
 * definitions) go on to the {@link SharedStage}, under the evaluation's own key so that callers of the same
 * context and keys share them. With `onlyLocal` the undecided ones stay unknown.
 */
@Injectable()
export class LocalFirstStage {
  /** Local evaluation's answers to every flag, by context, for the definitions loaded. */
  private readonly localAnswers = new LocalAnswers();
  /**
   * Answers to every flag held for a context (`reuseUntil`: the request that asked is not over), for at most 1 s:
   * every evaluation of the context meanwhile gets the same answer for each flag, whichever source gave it, even
   * if the definitions or the cache change in between.
   */
  private readonly held = new Coalescer<LocalFirstAnswer>(MAX_REUSE_MS);
  private readonly onlyLocal: boolean;

  constructor(
    private readonly definitions: DefinitionsPoller,
    private readonly next: SharedStage,
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
  ) {
    this.onlyLocal = config.localEvaluation !== false && config.localEvaluation.onlyLocal;
  }

  /**
   * The keys (every flag when undefined) for the context. The results map may be shared: read-only (see
   * {@link ReadResults}).
   */
  evaluate(
    context: FlagContext,
    contextId: string,
    keys: readonly string[] | undefined,
    options: LocalFirstOptions = {},
  ): MaybePromise<LocalFirstAnswer> {
    if (options.onlyLocal !== undefined) return this.evaluateNow(context, contextId, keys, options);
    const held = this.held.get(contextId);
    if (held) return held;
    if (!options.reuseUntil || keys !== undefined) return this.evaluateNow(context, contextId, keys, options);
    const until = options.reuseUntil();
    const answer = this.evaluateNow(context, contextId, keys, {
      reuseUntil: () => until,
      disableGeoip: options.disableGeoip,
    });
    const kept = answer instanceof Promise ? answer : Promise.resolve(answer);
    void this.held.run(contextId, () => kept, until);
    return answer;
  }

  /** {@link evaluate} without a held answer. */
  private evaluateNow(
    context: FlagContext,
    contextId: string,
    keys: readonly string[] | undefined,
    options: LocalFirstOptions,
  ): MaybePromise<LocalFirstAnswer> {
    const definitions = this.definitions.definitions;
    if (!definitions) {
      this.localAnswers.forget();
      if (options.onlyLocal) return { results: new Map(), unresolved: NONE };
      const rest = this.next.evaluate(
        evaluationOf(context, contextId, keys, keys, options.disableGeoip),
        options.reuseUntil,
      );
      return rest instanceof Promise ? rest.then(remoteOnly) : remoteOnly(rest);
    }
    const { results, undecided, unresolved } = this.localAnswers.answer(definitions, contextId, context, keys, now);
    if (undecided.length === 0 || (options.onlyLocal ?? this.onlyLocal)) return { results, unresolved };
    const rest = this.next.evaluate(
      evaluationOf(context, contextId, keys, undecided, options.disableGeoip),
      options.reuseUntil,
    );
    return rest instanceof Promise ? withRemoteLater(results, unresolved, rest) : withRemote(results, unresolved, rest);
  }
}

/** An answer without definitions: nothing was left undecided by them. */
function remoteOnly(results: RemoteResults): LocalFirstAnswer {
  return {
    results,
    unresolved: NONE,
    unanswered: results.unanswered,
    partial: results.partial,
    errors: results.errors,
  };
}

/** The local results with what the later stages answered for the rest. */
function withRemote(
  results: ReadResults,
  unresolved: ReadonlyMap<string, LocalUnresolvedReason>,
  remote: RemoteResults,
): LocalFirstAnswer {
  return { results: merged(results, remote), unresolved, unanswered: remote.unanswered, errors: remote.errors };
}

/** {@link withRemote} once the later stages answered (a continuation of its own: see `FeatureFlagGuard`). */
function withRemoteLater(
  results: ReadResults,
  unresolved: ReadonlyMap<string, LocalUnresolvedReason>,
  remote: Promise<RemoteResults>,
): Promise<LocalFirstAnswer> {
  return remote.then((answered) => withRemote(results, unresolved, answered));
}

const NONE: ReadonlyMap<string, LocalUnresolvedReason> = new Map();

/** The clock of local evaluations. */
function now(): Date {
  return new Date();
}
