import { LRUCache } from 'lru-cache';
import type { FlagContext, FlagResult } from '../flags.types.js';
import type { Definitions } from '../local/definitions.js';
import { askedOfServer } from '../local/engine/evaluation-runtime.js';
import { evaluateEveryFlag, evaluateLocally, type LocalAnswer } from '../local/engine/local-evaluator.js';
import { LocalResults } from '../local/engine/local-results.js';
import { localSubject } from '../local/engine/local-subject.js';
import type { LocalUnresolvedReason } from '../local/engine/unresolved-reason.js';
import { lruGet, lruHas } from '../util/lru-lookup.js';

/** How many contexts asked some keys once are remembered as such at most (the least recent go first). */
const MAX_ASKED_BEFORE = 50_000;

/** What the remembered answers may take, estimated as the memory cache estimates its entries. */
const MAX_BYTES = 16 * 2 ** 20;

/**
 * The estimated bytes of one remembered answer besides its context key, of each flag's value slot, of each
 * undecided flag's reason and of each result built (read). That is all an answer holds of its own: keys, variants
 * and payloads are the definitions' (payloads parsed once per set of definitions, {@link Definitions.payloads}),
 * shared by every answer. Measured (`npm run bench:project-size`, heap per remembered user): 1.3–2.0 KB at 10
 * flags, 1.9–2.7 KB at 100, 9.0–10.0 KB at 1,000; these estimates are at or above.
 */
const ENTRY_OVERHEAD_BYTES = 2000;
const SLOT_BYTES = 8;
const REASON_BYTES = 50;
const RESULT_BYTES = 200;

/**
 * Local evaluation's answers to "every flag for this context", remembered for one set of definitions: the
 * `@FeatureFlag` guard asks that on every request, and the answer cannot change until the definitions do (or the
 * context, which is the key), so a user's next request costs a lookup, however many flags there are. Not when the
 * definitions compare dates: a relative date moves with the clock, so every answer is evaluated then. Bounded (about
 * 16 MiB, the least recently used contexts go first), emptied when the definitions change or are dropped. An answer
 * holds a value per flag and builds a flag's result when first read ({@link LocalResults}): a user costs about
 * 8 bytes a flag, and the results read. Results are frozen, their payloads deeply: they are shared by the requests
 * of one context (payloads by every context).
 */
export class LocalAnswers {
  private definitions?: Definitions;
  private readonly everyFlag: LRUCache<string, Remembered>;

  /** Contexts asked some keys once and not remembered yet: their next question remembers every flag. */
  private readonly askedBefore = new LRUCache<string, true>({ max: MAX_ASKED_BEFORE });

  constructor(maxBytes = MAX_BYTES) {
    this.everyFlag = new LRUCache({ maxSize: maxBytes, sizeCalculation: sizeOf });
  }

  /**
   * The keys (every defined flag when undefined) evaluated for the context: taken from its answer to every flag,
   * remembered (evaluated at `now()` the first time: flags are built when read). A context's first question of
   * some keys evaluates them alone; its next question remembers. A remembered answer is handed out
   * as it is, its map read-only; for keys it decides every one of, too (it holds more flags than asked: the
   * overrides stage keeps the keys asked), so that a route's request for a user seen before allocates nothing.
   */
  answer(
    definitions: Definitions,
    contextId: string,
    context: FlagContext,
    keys: readonly string[] | undefined,
    now: () => Date,
  ): LocalAnswer {
    if (definitions !== this.definitions) {
      this.definitions = definitions;
      this.everyFlag.clear();
    }
    if (definitions.comparesDates) {
      const subject = localSubject(context);
      return keys ? evaluateLocally(definitions, subject, keys, now()) : evaluateEveryFlag(definitions, subject, now());
    }
    let known = lruGet(this.everyFlag, contextId);
    if (known && builtCount(known.answer) !== known.sizedAt) this.resize(contextId, known);
    if (!known) {
      // A context's first question of some keys evaluates them alone: a visitor seen once costs what its keys do.
      if (keys && !lruHas(this.askedBefore, contextId)) {
        this.askedBefore.set(contextId, true);
        return evaluateLocally(definitions, localSubject(context), keys, now());
      }
      const answer = evaluateEveryFlag(definitions, localSubject(context), now());
      Object.freeze(answer.undecided);
      known = { answer, sizedAt: 0 };
      this.everyFlag.set(contextId, known);
      this.askedBefore.delete(contextId);
    }
    if (!keys) return known.answer;
    if (known.decides !== keys) {
      if (!decidesEvery(known.answer, keys, definitions)) return only(known.answer, keys, definitions);
      // A route's keys (a frozen list, asked on each of its requests): checked once per answer.
      if (Object.isFrozen(keys)) known.decides = keys;
    }
    return decidedView(known);
  }

  /** Lets every remembered answer go, with the definitions they were for (there are none loaded any more). */
  forget(): void {
    if (!this.definitions) return;
    this.definitions = undefined;
    this.everyFlag.clear();
    this.askedBefore.clear();
  }

  /**
   * Takes the answer's size again (results were read since it was taken), so that the bound holds what was read:
   * set again under its key (the cache takes the size of a new value only).
   */
  private resize(contextId: string, known: Remembered): void {
    this.everyFlag.delete(contextId);
    this.everyFlag.set(contextId, known);
  }
}

/** A context's remembered answer to every flag, and what was worked out of it. */
interface Remembered {
  answer: LocalAnswer;
  /** The results it had built when its size was last taken. */
  sizedAt: number;
  /** The last route's keys (a frozen list) it was found to decide every one of. */
  decides?: readonly string[];
  /** The answer with nothing undecided (see {@link decidedView}), made once. */
  decided?: LocalAnswer;
}

/** The estimated bytes of a remembered answer, noted with the results it had built then. */
function sizeOf(known: Remembered, contextId: string): number {
  const { answer } = known;
  const built = (known.sizedAt = builtCount(answer));
  const slots = answer.results.size + answer.unresolved.size;
  return (
    ENTRY_OVERHEAD_BYTES +
    contextId.length * 2 +
    slots * SLOT_BYTES +
    answer.unresolved.size * REASON_BYTES +
    built * RESULT_BYTES
  );
}

/**
 * The remembered answer to some keys it decides every one of: itself, or a view of it that leaves nothing
 * undecided (made once), so that nothing is asked of PostHog for the flags no one asked.
 */
function decidedView(known: Remembered): LocalAnswer {
  const { answer } = known;
  if (answer.undecided.length === 0) return answer;
  return (known.decided ??= { ...answer, undecided: NONE_UNDECIDED });
}

/**
 * The answer to `keys` within an answer to every flag: a key it did not decide is left for PostHog, unless its
 * definition keeps it from servers ({@link askedOfServer}).
 */
function only(every: LocalAnswer, keys: readonly string[], definitions: Definitions): LocalAnswer {
  const results = new Map<string, FlagResult>();
  const undecided: string[] = [];
  const unresolved = new Map<string, LocalUnresolvedReason>();
  for (const key of keys) {
    const result = every.results.get(key);
    if (result) results.set(key, result);
    else if (askedOfServer(definitions.byKey.get(key))) undecided.push(key);
    const reason = every.unresolved.get(key);
    if (reason !== undefined) unresolved.set(key, reason);
  }
  return { results, undecided, unresolved };
}

/**
 * Whether the answer leaves none of `keys` for PostHog: each has a result, or its definition keeps it from servers
 * ({@link askedOfServer}; a key the definitions lack is asked).
 */
function decidesEvery(answer: LocalAnswer, keys: readonly string[], definitions: Definitions): boolean {
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    if (!answer.results.has(key) && askedOfServer(definitions.byKey.get(key))) return false;
  }
  return true;
}

const NONE_UNDECIDED: readonly string[] = Object.freeze([]);

/** How many results the answer has built (every one, for an answer that is not built when read). */
function builtCount(answer: LocalAnswer): number {
  return answer.results instanceof LocalResults ? answer.results.builtCount : answer.results.size;
}
