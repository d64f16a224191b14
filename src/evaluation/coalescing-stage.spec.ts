import { describe, expect, it } from '@jest/globals';
import type { FlagContext } from '../flags.types.js';
import { evaluationOf, type Evaluation } from './evaluation.js';
import { contextKey } from './flag-context.js';
import type { MaybePromise } from './flag-results.js';
import { CoalescingStage } from './coalescing-stage.js';
import { answerOf, type StageAnswer } from './stage-answer.js';
import type { EvaluationStage } from './stage-links.js';

const USER: FlagContext = { distinctId: 'u1' };
const USER_ID = contextKey(USER);

/** A promise settled from outside. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** An answer of its own (no results). */
const answer = (): StageAnswer => answerOf(new Map());

/**
 * A next stage that records each evaluation and answers a promise the test settles (`answers[i]`), or, with
 * `sync`, an answer of its own at once (recorded in `given`).
 */
function fakeNext(sync = false) {
  const asked: Evaluation[] = [];
  const answers: ReturnType<typeof deferred<StageAnswer>>[] = [];
  const given: StageAnswer[] = [];
  const next = {
    evaluate(evaluation: Evaluation): MaybePromise<StageAnswer> {
      asked.push(evaluation);
      if (sync) {
        const now = answer();
        given.push(now);
        return now;
      }
      const pending = deferred<StageAnswer>();
      answers.push(pending);
      return pending.promise;
    },
  };
  return { shared: new CoalescingStage(next as EvaluationStage), asked, answers, given };
}

describe('CoalescingStage', () => {
  it('makes one call to the next stage for two identical questions in flight, both get its answer', async () => {
    const { shared, asked, answers } = fakeNext();
    const first = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    const second = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(asked).toHaveLength(1);
    const answered = answer();
    answers[0]!.resolve(answered);
    expect(await first).toBe(answered);
    expect(await second).toBe(answered);
  });

  it('shares nothing between different keys of the same context, nor between contexts', () => {
    const { shared, asked } = fakeNext();
    void shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    void shared.evaluate(evaluationOf(USER, USER_ID, ['checkout']));
    void shared.evaluate(evaluationOf({ distinctId: 'u2' }, contextKey({ distinctId: 'u2' }), ['beta']));
    expect(asked.map((evaluation) => evaluation.keys)).toEqual([['beta'], ['checkout'], ['beta']]);
  });

  it('joins an evaluation of every flag of the context in flight, whatever the keys asked', async () => {
    const { shared, asked, answers } = fakeNext();
    const every = shared.evaluate(evaluationOf(USER, USER_ID));
    const some = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(asked).toHaveLength(1);
    answers[0]!.resolve(answer());
    expect(await some).toBe(await every);
  });

  it('asks again once the evaluation settled, when it was not held', async () => {
    const { shared, asked, answers } = fakeNext();
    const first = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    answers[0]!.resolve(answer());
    await first;
    void shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(asked).toHaveLength(2);
  });

  it('joins a held evaluation after it settled, until its hold settles', async () => {
    const { shared, asked, answers } = fakeNext();
    const hold = deferred<void>();
    const first = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']), () => hold.promise);
    answers[0]!.resolve(answer());
    const results = await first;
    expect(await shared.evaluate(evaluationOf(USER, USER_ID, ['beta']))).toBe(results);
    expect(asked).toHaveLength(1);
    hold.resolve();
    await hold.promise;
    void shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(asked).toHaveLength(2);
  });

  it('hands a synchronous answer back as it is, sharing nothing', () => {
    const { shared, asked, given } = fakeNext(true);
    const answered = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(answered).toBe(given[0]);
    void shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(asked).toHaveLength(2);
  });

  it('lets the application shut down only once every evaluation in flight has settled', async () => {
    const { shared, answers } = fakeNext();
    void shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    let down = false;
    const shutdown = shared.beforeApplicationShutdown().then(() => (down = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(down).toBe(false);
    answers[0]!.resolve(answer());
    await shutdown;
    expect(down).toBe(true);
  });
});
