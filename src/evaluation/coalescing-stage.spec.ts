import { describe, expect, it } from '@jest/globals';
import type { FlagContext } from '../flags.types.js';
import { evaluationOf, type Evaluation } from './evaluation.js';
import { contextKey } from './flag-context.js';
import type { FlagResults, MaybePromise } from './flag-results.js';
import { CoalescingStage } from './coalescing-stage.js';
import type { EvaluationStage } from './stage-links.js';

const USER: FlagContext = { distinctId: 'u1' };
const USER_ID = contextKey(USER);

/** A promise settled from outside. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

/**
 * A next stage that records each evaluation and answers a promise the test settles (`answers[i]`), or, with
 * `sync`, a map at once.
 */
function fakeNext(sync = false) {
  const asked: Evaluation[] = [];
  const answers: ReturnType<typeof deferred<FlagResults>>[] = [];
  const next = {
    evaluate(evaluation: Evaluation): MaybePromise<FlagResults> {
      asked.push(evaluation);
      if (sync) return new Map();
      const answer = deferred<FlagResults>();
      answers.push(answer);
      return answer.promise;
    },
  };
  return { shared: new CoalescingStage(next as EvaluationStage), asked, answers };
}

describe('CoalescingStage', () => {
  it('makes one call to the next stage for two identical questions in flight, both get its answer', async () => {
    const { shared, asked, answers } = fakeNext();
    const first = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    const second = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(asked).toHaveLength(1);
    const results = new Map();
    answers[0]!.resolve(results);
    expect(await first).toBe(results);
    expect(await second).toBe(results);
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
    answers[0]!.resolve(new Map());
    expect(await some).toBe(await every);
  });

  it('asks again once the evaluation settled, when it was not held', async () => {
    const { shared, asked, answers } = fakeNext();
    const first = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    answers[0]!.resolve(new Map());
    await first;
    void shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(asked).toHaveLength(2);
  });

  it('joins a held evaluation after it settled, until its hold settles', async () => {
    const { shared, asked, answers } = fakeNext();
    const hold = deferred<void>();
    const first = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']), () => hold.promise);
    answers[0]!.resolve(new Map());
    const results = await first;
    expect(await shared.evaluate(evaluationOf(USER, USER_ID, ['beta']))).toBe(results);
    expect(asked).toHaveLength(1);
    hold.resolve();
    await hold.promise;
    void shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(asked).toHaveLength(2);
  });

  it('hands a synchronous answer back as it is, sharing nothing', () => {
    const { shared, asked } = fakeNext(true);
    const answer = shared.evaluate(evaluationOf(USER, USER_ID, ['beta']));
    expect(answer).toBeInstanceOf(Map);
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
    answers[0]!.resolve(new Map());
    await shutdown;
    expect(down).toBe(true);
  });
});
