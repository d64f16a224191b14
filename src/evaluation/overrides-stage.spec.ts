import { describe, expect, it } from '@jest/globals';
import type { FlagContext, FlagResult } from '../flags.types.js';
import type { FlagsMonitor } from '../monitor/flags-monitor.js';
import { FlagsOverrides } from '../overrides/flags-overrides.js';
import { contextKey } from './flag-context.js';
import type { MaybePromise } from './flag-results.js';
import { OverridesStage } from './overrides-stage.js';
import type { StageAnswer } from './stage-answer.js';
import type { ContextStage, LocalFirstOptions } from './stage-links.js';

const USER: FlagContext = { distinctId: 'u1' };
const evaluatedAt = new Date(5000);

function remote(key: string, enabled = true): FlagResult {
  return { key, enabled, source: 'remote', evaluatedAt };
}

/** A next stage that records what it was asked and answers `answer` (or each call's `answer()`). */
function fakeNext(answer: () => MaybePromise<StageAnswer>) {
  const asked: { keys: readonly string[] | undefined; options?: LocalFirstOptions }[] = [];
  const next = {
    evaluate(
      _context: FlagContext,
      _contextId: string,
      keys: readonly string[] | undefined,
      options?: LocalFirstOptions,
    ) {
      asked.push({ keys, options });
      return answer();
    },
  };
  return { next: next as ContextStage, asked };
}

/** A monitor that records what it was told was evaluated. */
function fakeMonitor() {
  const told: { keys: string[]; named: readonly string[] | undefined; partial?: boolean }[] = [];
  const record = (results: ReadonlyMap<string, FlagResult>, named?: readonly string[], partial?: boolean) =>
    told.push({ keys: [...results.keys()], named, partial });
  const monitor = {
    evaluatedKeys: (results: ReadonlyMap<string, FlagResult>, keys: readonly string[]) => record(results, keys),
    evaluatedEvery: (
      results: ReadonlyMap<string, FlagResult>,
      unanswered: readonly string[] | undefined,
      _id: string,
      partial?: boolean,
    ) => record(results, unanswered, partial),
  };
  return { monitor: monitor as unknown as FlagsMonitor, told };
}

function stage(overrides: FlagsOverrides, answer: () => MaybePromise<StageAnswer>) {
  const { next, asked } = fakeNext(answer);
  const { monitor, told } = fakeMonitor();
  return { evaluator: new OverridesStage(overrides, next, monitor), asked, told };
}

const answerOf = (...results: FlagResult[]): StageAnswer => ({
  results: new Map(results.map((result) => [result.key, result])),
  unresolved: new Map(),
});

describe('OverridesStage', () => {
  it('asks nothing further when an override fixes every key asked: each comes back as an override', () => {
    const { evaluator, asked, told } = stage(new FlagsOverrides({ beta: true, checkout: 'test' }), () =>
      answerOf(remote('beta', false)),
    );
    const answer = evaluator.evaluate(USER, contextKey(USER), ['beta', 'checkout']);
    expect(answer).not.toBeInstanceOf(Promise);
    expect(asked).toEqual([]);
    const { results } = answer as StageAnswer;
    expect(results.get('beta')).toMatchObject({ enabled: true, source: 'override' });
    expect(results.get('checkout')).toMatchObject({ enabled: true, variant: 'test', source: 'override' });
    expect(told).toEqual([{ keys: ['beta', 'checkout'], named: ['beta', 'checkout'], partial: undefined }]);
  });

  it('asks the next stage when a key is not overridden, and the override wins over its answer', () => {
    const { evaluator, asked } = stage(new FlagsOverrides({ beta: false }), () =>
      answerOf(remote('beta'), remote('other')),
    );
    const { results } = evaluator.evaluate(USER, contextKey(USER), ['beta', 'other']) as StageAnswer;
    expect(asked).toEqual([{ keys: ['beta', 'other'], options: undefined }]);
    expect(results.get('beta')).toMatchObject({ enabled: false, source: 'override' });
    expect(results.get('other')).toMatchObject({ enabled: true, source: 'remote' });
  });

  it('asks again for a key whose override is a function that leaves this context alone', () => {
    const overrides = new FlagsOverrides({ beta: (context) => (context.distinctId === 'u2' ? true : undefined) });
    const { evaluator, asked } = stage(overrides, () => answerOf(remote('beta', false)));
    const mine = evaluator.evaluate(USER, contextKey(USER), ['beta']) as StageAnswer;
    expect(asked).toHaveLength(1);
    expect(mine.results.get('beta')).toMatchObject({ enabled: false, source: 'remote' });
    const theirs = evaluator.evaluate({ distinctId: 'u2' }, '"u2', ['beta']) as StageAnswer;
    expect(asked).toHaveLength(1);
    expect(theirs.results.get('beta')).toMatchObject({ enabled: true, source: 'override' });
  });

  it('hands back only the keys asked, and their reasons, of a wider answer (a held answer to every flag)', () => {
    const wide: StageAnswer = {
      ...answerOf(remote('beta'), remote('other')),
      unresolved: new Map([
        ['beta', 'experience_continuity' as const],
        ['other', 'experience_continuity' as const],
      ]),
    };
    const { evaluator } = stage(new FlagsOverrides(), () => wide);
    const answer = evaluator.evaluate(USER, contextKey(USER), ['beta']) as StageAnswer;
    expect([...answer.results.keys()]).toEqual(['beta']);
    expect([...answer.unresolved.keys()]).toEqual(['beta']);
    expect(wide.results.size).toBe(2);
  });

  it('hands the next answer itself back when nothing is overridden and every flag was asked', () => {
    const every = { ...answerOf(remote('beta')), unanswered: ['gone'], partial: true as const };
    const { evaluator, told } = stage(new FlagsOverrides(), () => every);
    expect(evaluator.evaluate(USER, contextKey(USER), undefined)).toBe(every);
    expect(told).toEqual([{ keys: ['beta'], named: ['gone'], partial: true }]);
  });

  it('adds every overridden key to an answer to every flag', () => {
    const { evaluator } = stage(new FlagsOverrides({ fixed: 'v' }), () => answerOf(remote('beta')));
    const { results } = evaluator.evaluate(USER, contextKey(USER), undefined) as StageAnswer;
    expect([...results.keys()]).toEqual(['beta', 'fixed']);
    expect(results.get('fixed')).toMatchObject({ variant: 'v', source: 'override' });
  });

  it('passes the options on, and answers a later answer later, overridden', async () => {
    const { evaluator, asked } = stage(new FlagsOverrides({ beta: true }), () =>
      Promise.resolve(answerOf(remote('beta', false), remote('other'))),
    );
    const answer = evaluator.evaluate(USER, contextKey(USER), ['beta', 'other'], { onlyLocal: false });
    expect(answer).toBeInstanceOf(Promise);
    expect(asked).toEqual([{ keys: ['beta', 'other'], options: { onlyLocal: false } }]);
    const { results } = await answer;
    expect(results.get('beta')).toMatchObject({ enabled: true, source: 'override' });
    expect(results.get('other')).toMatchObject({ source: 'remote' });
  });

  it("hands a wider answer on whole when the keys are the least it must hold (a route's snapshot), unless overridden", () => {
    const shared = answerOf(remote('beta'), remote('checkout'), remote('other'));
    const routeKeys = Object.freeze(['beta', 'checkout', 'gone']);
    const { evaluator, told } = stage(new FlagsOverrides({}), () => shared);
    expect(evaluator.evaluate(USER, contextKey(USER), routeKeys, undefined, true)).toBe(shared);
    expect(told).toEqual([{ keys: ['beta', 'checkout', 'other'], named: routeKeys, partial: undefined }]);
    const narrowed = evaluator.evaluate(USER, contextKey(USER), routeKeys) as StageAnswer;
    expect([...narrowed.results.keys()]).toEqual(['beta', 'checkout']);

    const overridden = stage(new FlagsOverrides({ checkout: 'control', other: false }), () => shared);
    const { results } = overridden.evaluator.evaluate(
      USER,
      contextKey(USER),
      routeKeys,
      undefined,
      true,
    ) as StageAnswer;
    // With overrides set, the keys asked only: an override is written over a copy of them, not of the whole answer.
    expect([...results.keys()]).toEqual(['beta', 'checkout']);
    expect(results.get('checkout')).toMatchObject({ variant: 'control', source: 'override' });
    expect(shared.results.get('checkout')).toMatchObject({ source: 'remote' });
  });
});
