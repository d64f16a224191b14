import { describe, expect, it } from '@jest/globals';
import type { CachedFlag, CachedFlags } from '../cache/flag-cache.js';
import type { FlagContext } from '../flags.types.js';
import { resolveFlagsOptions } from '../options/resolve-flags-options.js';
import type { CacheAccess } from './cache-access.js';
import { evaluationOf, type Evaluation } from './evaluation.js';
import { contextKey } from './flag-context.js';
import type { MaybePromise } from './flag-results.js';
import { FreshWindowStage } from './fresh-window-stage.js';
import { answerOf, type StageAnswer } from './stage-answer.js';
import type { UpstreamStage } from './upstream-stage.js';

const USER: FlagContext = { distinctId: 'u1' };
const FRESH_SECONDS = 60;

/** The user's cached entry for `beta`, evaluated `ageMs` ago for `context` (the evaluation's fingerprint). */
function entry(ageMs: number, context: string): CachedFlag {
  return { key: 'beta', enabled: true, evaluatedAt: new Date(Date.now() - ageMs), context };
}

/**
 * A cache whose reads find `read` (a promise of it with `later`), and a next stage that records what it was asked
 * and answers PostHog's results.
 */
function stage(read: CachedFlags, { fresh = FRESH_SECONDS, later = false } = {}) {
  const reads: (readonly string[] | undefined)[] = [];
  const cache = {
    read(_distinctId: string, keys: readonly string[] | undefined): MaybePromise<CachedFlags> {
      reads.push(keys);
      return later ? Promise.resolve(read) : read;
    },
  };
  const asked: { evaluation: Evaluation; cached?: CachedFlags }[] = [];
  const refreshed: Evaluation[] = [];
  const answered = answerOf(
    new Map([['beta', { key: 'beta', enabled: false, source: 'remote', evaluatedAt: new Date() }]]),
  );
  const upstream = {
    evaluate(evaluation: Evaluation, cached?: CachedFlags): Promise<StageAnswer> {
      asked.push({ evaluation, cached });
      return Promise.resolve(answered);
    },
    refreshBehind(evaluation: Evaluation): void {
      refreshed.push(evaluation);
    },
  };
  const config = resolveFlagsOptions({ apiKey: 'phc_test', cacheUrl: `memory://?fresh=${fresh}&ttl=600` }, {});
  const window = new FreshWindowStage(cache as unknown as CacheAccess, upstream as unknown as UpstreamStage, config);
  return { window, reads, asked, refreshed, answered };
}

const evaluation = () => evaluationOf(USER, contextKey(USER), ['beta']);

describe('FreshWindowStage', () => {
  it('answers from a young cache entry of the same context at once, without the next stage', () => {
    const question = evaluation();
    const { window, reads, asked, refreshed } = stage({ flags: [entry(1000, question.fingerprint)], complete: true });
    const answer = window.evaluate(question);
    expect(answer).not.toBeInstanceOf(Promise);
    expect((answer as StageAnswer).results.get('beta')).toMatchObject({ enabled: true, source: 'cache' });
    expect(reads).toEqual([['beta']]);
    expect(asked).toEqual([]);
    expect(refreshed).toEqual([]);
  });

  it('answers every evaluation of one read with the same answer, made once and frozen', () => {
    const question = evaluation();
    const { window } = stage({ flags: [entry(1000, question.fingerprint)], complete: true });
    const first = window.evaluate(question) as StageAnswer;
    expect(window.evaluate(evaluation())).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.unanswered).toBeUndefined();
    expect(first.unresolved.size).toBe(0);
  });

  it('answers from a read that comes later too', async () => {
    const question = evaluation();
    const read = { flags: [entry(1000, question.fingerprint)], complete: true };
    const { window, asked } = stage(read, { later: true });
    const answer = window.evaluate(question);
    expect(answer).toBeInstanceOf(Promise);
    expect((await answer).results.get('beta')).toMatchObject({ source: 'cache' });
    expect(asked).toEqual([]);
  });

  it('passes an entry older than twice the window on, with the read, and answers what comes back', async () => {
    const question = evaluation();
    const read = { flags: [entry(2 * FRESH_SECONDS * 1000 + 1000, question.fingerprint)], complete: true };
    const { window, asked, answered } = stage(read);
    expect(await window.evaluate(question)).toBe(answered);
    expect(asked).toEqual([{ evaluation: question, cached: read }]);
  });

  it('answers from a stale entry (past the refresh point) and refreshes it behind the answer', () => {
    const question = evaluation();
    const read = { flags: [entry(1.6 * FRESH_SECONDS * 1000, question.fingerprint)], complete: true };
    const { window, asked, refreshed } = stage(read);
    const answer = window.evaluate(question) as StageAnswer;
    expect(answer.results.get('beta')).toMatchObject({ source: 'cache' });
    expect(refreshed).toEqual([question]);
    expect(asked).toEqual([]);
  });

  it('passes on a young entry evaluated for another context, and an incomplete read', async () => {
    const question = evaluation();
    const other = stage({ flags: [entry(1000, 'another context')], complete: true });
    await other.window.evaluate(question);
    expect(other.asked).toHaveLength(1);
    const incomplete = stage({ flags: [entry(1000, question.fingerprint)], complete: false });
    await incomplete.window.evaluate(question);
    expect(incomplete.asked).toHaveLength(1);
  });

  it('without a window (fresh=0) goes on without reading the cache', async () => {
    const question = evaluation();
    const { window, reads, asked } = stage({ flags: [entry(0, question.fingerprint)], complete: true }, { fresh: 0 });
    await window.evaluate(question);
    expect(reads).toEqual([]);
    expect(asked).toEqual([{ evaluation: question, cached: undefined }]);
  });
});
