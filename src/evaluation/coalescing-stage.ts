import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { Coalescer } from '../pipeline/coalesce.js';
import type { Evaluation } from './evaluation.js';
import type { MaybePromise } from './flag-results.js';
import type { StageAnswer } from './stage-answer.js';
import { AFTER_COALESCING, type EvaluationStage } from './stage-links.js';

/**
 * The longest an evaluation held with `reuseUntil` is reused after it was answered: a streaming response must not
 * pin a user's flags for hours.
 */
export const MAX_REUSE_MS = 1000;

/**
 * Evaluations of the same context share their work (coalescing): a question joins the one in flight for the same
 * keys, or for every flag of the context; else it goes on to the next stage (`FreshWindowStage`), and what it
 * starts is shared until it settles (and, when held, until `reuseUntil()` settles, for at most 1 s). Counts what is
 * in flight: the application shuts down once they have settled (they may be answering from the cache).
 */
@Injectable()
export class CoalescingStage implements BeforeApplicationShutdown {
  /** Evaluations in flight (or held for reuse), by context and keys: they share one cache read and one answer. */
  private readonly inFlight = new Coalescer<StageAnswer>(MAX_REUSE_MS);
  /** Evaluations started and not settled yet; shutdown waits for them (they answer from the cache). */
  private evaluationsInFlight = 0;
  private whenIdle?: () => void;

  constructor(@Inject(AFTER_COALESCING) private readonly next: EvaluationStage) {}

  /**
   * The evaluation in flight for the same context and keys (or every flag), else a new one: answered at once when
   * the cache answers synchronously, else shared with every caller until it settles, and after that until
   * `reuseUntil()` settles (for at most 1 s). The answer is shared: read-only.
   */
  evaluate(evaluation: Evaluation, reuseUntil?: () => PromiseLike<unknown>): MaybePromise<StageAnswer> {
    const running = this.inFlight.idle ? undefined : this.running(evaluation);
    if (running) return running;
    const now = this.next.evaluate(evaluation);
    if (!(now instanceof Promise)) return now;
    return this.share(evaluation.key, now, reuseUntil);
  }

  /** The evaluation in flight for every flag of the evaluation's context, else for its question. */
  private running({ contextId, key }: Evaluation): Promise<StageAnswer> | undefined {
    return this.inFlight.get(contextId) ?? (key === contextId ? undefined : this.inFlight.get(key));
  }

  /** The evaluation under way, shared under `key` (a continuation of its own: see `FeatureFlagGuard`). */
  private share(
    key: string,
    evaluation: Promise<StageAnswer>,
    reuseUntil: (() => PromiseLike<unknown>) | undefined,
  ): Promise<StageAnswer> {
    return this.inFlight.run(key, () => this.tracked(evaluation), reuseUntil?.());
  }

  /**
   * Settles once every evaluation in flight has settled: the upstream pipeline ended their calls when the
   * application began to shut down, so they are answering from the cache, which must stay open until they have.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.evaluationsInFlight > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
  }

  /** The evaluation, counted among those in flight until it settles. */
  private async tracked(evaluation: Promise<StageAnswer>): Promise<StageAnswer> {
    this.evaluationsInFlight++;
    try {
      return await evaluation;
    } finally {
      if (--this.evaluationsInFlight === 0) this.whenIdle?.();
    }
  }
}
