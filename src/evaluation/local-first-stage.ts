import { Inject, Injectable } from '@nestjs/common';
import { FLAGS_CONFIG } from '../flags.constants.js';
import type { FlagContext } from '../flags.types.js';
import { DefinitionsPoller } from '../local/polling/definitions-poller.js';
import { LocalAnswers } from './local-answers.js';
import type { LocalUnresolvedReason } from '../local/engine/unresolved-reason.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { evaluationOf } from './evaluation.js';
import { merged, type MaybePromise, type ReadResults } from './flag-results.js';
import { Coalescer } from '../pipeline/coalesce.js';
import { MAX_REUSE_MS } from './coalescing-stage.js';
import { AFTER_LOCAL_FIRST, type EvaluationStage, type LocalFirstOptions } from './stage-links.js';
import { NO_REASONS, type StageAnswer } from './stage-answer.js';

/**
 * The flag definitions decide what they can (`local`), synchronously, a context's answer to every flag remembered
 * until the definitions change ({@link LocalAnswers}); only the keys they leave undecided (or all, without
 * definitions) go on to the next stage (`CoalescingStage`: see `evaluation-path.ts`), under the evaluation's own
 * key so that callers of the same context and keys share them. With `onlyLocal` the undecided ones stay unknown.
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
  private readonly held = new Coalescer<StageAnswer>(MAX_REUSE_MS);
  private readonly onlyLocal: boolean;

  constructor(
    private readonly definitions: DefinitionsPoller,
    @Inject(AFTER_LOCAL_FIRST) private readonly next: EvaluationStage,
    @Inject(FLAGS_CONFIG) config: ResolvedFlagsOptions,
  ) {
    this.onlyLocal = config.localEvaluation !== false && config.localEvaluation.onlyLocal;
  }

  /**
   * The keys (every flag when undefined) for the context. The answer may be shared (the later stages' answer
   * handed on as it is, a held one): read-only.
   */
  evaluate(
    context: FlagContext,
    contextId: string,
    keys: readonly string[] | undefined,
    options: LocalFirstOptions = {},
  ): MaybePromise<StageAnswer> {
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
  ): MaybePromise<StageAnswer> {
    const definitions = this.definitions.definitions;
    if (!definitions) {
      this.localAnswers.forget();
      if (options.onlyLocal) return { results: new Map(), unresolved: NO_REASONS };
      // Nothing local to add: the later stages' answer is this one, handed on as it is (it may be shared).
      return this.next.evaluate(evaluationOf(context, contextId, keys, keys, options.disableGeoip), options.reuseUntil);
    }
    const local = this.localAnswers.answer(definitions, contextId, context, keys, now);
    const { results, undecided, unresolved } = local;
    // The remembered answer itself (read-only, and a StageAnswer): a user seen before allocates nothing here.
    if (undecided.length === 0 || (options.onlyLocal ?? this.onlyLocal)) return local;
    const rest = this.next.evaluate(
      evaluationOf(context, contextId, keys, undecided, options.disableGeoip),
      options.reuseUntil,
    );
    return rest instanceof Promise ? withRemoteLater(results, unresolved, rest) : withRemote(results, unresolved, rest);
  }
}

/**
 * The local results with what the later stages answered for the rest (asked by key: never `partial`), in an answer
 * of its own: the later stages' may be shared.
 */
function withRemote(
  results: ReadResults,
  unresolved: ReadonlyMap<string, LocalUnresolvedReason>,
  remote: StageAnswer,
): StageAnswer {
  return { results: merged(results, remote.results), unresolved, unanswered: remote.unanswered, errors: remote.errors };
}

/** {@link withRemote} once the later stages answered (a continuation of its own: see `FeatureFlagGuard`). */
function withRemoteLater(
  results: ReadResults,
  unresolved: ReadonlyMap<string, LocalUnresolvedReason>,
  remote: Promise<StageAnswer>,
): Promise<StageAnswer> {
  return remote.then((answered) => withRemote(results, unresolved, answered));
}

/** The clock of local evaluations. */
function now(): Date {
  return new Date();
}
