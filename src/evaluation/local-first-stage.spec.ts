import { describe, expect, it } from '@jest/globals';
import type { FlagContext, FlagResult } from '../flags.types.js';
import type { DefinitionsPoller } from '../local/polling/definitions-poller.js';
import { indexDefinitions, parseDefinitions, type Definitions, type FlagDefinition } from '../local/definitions.js';
import { resolveFlagsOptions } from '../options/resolve-flags-options.js';
import type { Evaluation } from './evaluation.js';
import { contextKey } from './flag-context.js';
import type { MaybePromise } from './flag-results.js';
import { LocalFirstStage } from './local-first-stage.js';
import { answerOf, type StageAnswer } from './stage-answer.js';
import type { EvaluationStage } from './stage-links.js';

/** On for everyone: local evaluation decides it. */
const ALL: FlagDefinition = { key: 'all', active: true, filters: { groups: [{ rollout_percentage: 100 }] } };
/** On for `plan: pro`: undecided for a context without the property. */
const PRO: FlagDefinition = {
  key: 'pro',
  active: true,
  filters: { groups: [{ properties: [{ key: 'plan', type: 'person', value: 'pro' }], rollout_percentage: 100 }] },
};

const USER: FlagContext = { distinctId: 'u1' };
const USER_ID = contextKey(USER);

/** The later stages' answer: `keys` on, remote; of `named`, the keys it lacks unanswered. */
function remote(keys: string[] = [], named?: string[]): StageAnswer {
  const results = new Map(
    keys.map((key): [string, FlagResult] => [key, { key, enabled: true, source: 'remote', evaluatedAt: new Date(0) }]),
  );
  return answerOf(results, named);
}

/** A next stage that records each evaluation and `reuseUntil` it was given, answering `answer()`. */
function fakeNext(answer: () => MaybePromise<StageAnswer>) {
  const asked: { evaluation: Evaluation; reuseUntil?: () => PromiseLike<unknown> }[] = [];
  const next = {
    evaluate(evaluation: Evaluation, reuseUntil?: () => PromiseLike<unknown>) {
      asked.push({ evaluation, reuseUntil });
      return answer();
    },
  };
  return { next: next as EvaluationStage, asked };
}

function stage(
  definitions: Definitions | undefined,
  answer: () => MaybePromise<StageAnswer> = () => remote(),
  onlyLocal = false,
) {
  const { next, asked } = fakeNext(answer);
  const config = resolveFlagsOptions({ apiKey: 'phc_test', secretKey: 'phs_test', localEvaluation: { onlyLocal } }, {});
  const poller = { definitions } as DefinitionsPoller;
  return { local: new LocalFirstStage(poller, next, config), asked };
}

const definitionsOf = (...flags: FlagDefinition[]) => indexDefinitions(parseDefinitions({ flags }));

describe('LocalFirstStage', () => {
  it('answers what the definitions decide at once, asking nothing further', () => {
    const { local, asked } = stage(definitionsOf(ALL, PRO));
    const answer = local.evaluate({ distinctId: 'u1', personProperties: { plan: 'pro' } }, '"pro', ['all', 'pro']);
    expect(answer).not.toBeInstanceOf(Promise);
    expect(asked).toEqual([]);
    const { results } = answer as StageAnswer;
    expect(results.get('all')).toMatchObject({ enabled: true, source: 'local' });
    expect(results.get('pro')).toMatchObject({ enabled: true, source: 'local' });
  });

  it('passes on only the undecided keys, under the key of the whole question, and merges the answer', () => {
    const { local, asked } = stage(definitionsOf(ALL, PRO), () => remote(['pro']));
    const answer = local.evaluate(USER, USER_ID, ['all', 'pro']) as StageAnswer;
    expect(asked).toHaveLength(1);
    const { evaluation } = asked[0]!;
    expect(evaluation.keys).toEqual(['pro']);
    expect(evaluation.key).toBe(`${JSON.stringify(['all', 'pro'])}\n${USER_ID}`);
    expect(answer.results.get('all')).toMatchObject({ source: 'local' });
    expect(answer.results.get('pro')).toMatchObject({ source: 'remote' });
    expect([...answer.unresolved.keys()]).toEqual(['pro']);
  });

  it('passes on nothing with onlyLocal (the call option or the module setting): the undecided stay unknown', () => {
    for (const { options, module } of [
      { options: { onlyLocal: true }, module: false },
      { options: {}, module: true },
    ]) {
      const { local, asked } = stage(definitionsOf(ALL, PRO), () => remote(['pro']), module);
      const answer = local.evaluate(USER, USER_ID, ['all', 'pro'], options) as StageAnswer;
      expect(asked).toEqual([]);
      expect([...answer.results.keys()]).toEqual(['all']);
      expect([...answer.unresolved.keys()]).toEqual(['pro']);
    }
  });

  it('without definitions passes every key on, with what the later stages could not answer', async () => {
    const answered = remote(['all'], ['all', 'pro']);
    const { local, asked } = stage(undefined, () => Promise.resolve(answered));
    const answer = await local.evaluate(USER, USER_ID, ['all', 'pro'], { disableGeoip: true });
    expect(asked.map(({ evaluation }) => [evaluation.keys, evaluation.disableGeoip])).toEqual([[['all', 'pro'], true]]);
    expect(answer).toBe(answered);
    expect(answer.unanswered).toEqual(['pro']);
    expect(answer.unresolved.size).toBe(0);
  });

  it("without definitions hands a synchronous answer on as it is (a cache hit's, shared), making nothing", () => {
    const answered = remote(['all']);
    const { local } = stage(undefined, () => answered);
    expect(local.evaluate(USER, USER_ID, ['all'])).toBe(answered);
    expect(local.evaluate(USER, USER_ID, ['all'])).toBe(answered);
  });

  it("merges the later stages' answer into an answer of its own, with what they could not answer", () => {
    const answered = remote(['other'], ['pro', 'other']);
    const { local } = stage(definitionsOf(ALL, PRO), () => answered);
    const answer = local.evaluate(USER, USER_ID, ['all', 'pro', 'other']) as StageAnswer;
    expect(answer).not.toBe(answered);
    expect([...answer.results.keys()].sort()).toEqual(['all', 'other']);
    expect(answer.unanswered).toEqual(['pro']);
    expect([...answer.unresolved.keys()]).toEqual(['pro']);
    expect([...answered.results.keys()]).toEqual(['other']);
  });

  it('without definitions and with onlyLocal answers nothing, asking nothing', () => {
    const { local, asked } = stage(undefined);
    const answer = local.evaluate(USER, USER_ID, ['all'], { onlyLocal: true }) as StageAnswer;
    expect(asked).toEqual([]);
    expect(answer.results.size).toBe(0);
  });

  it("holds an answer to every flag until the hold settles: the context's next evaluations get it", async () => {
    const { local, asked } = stage(definitionsOf(ALL, PRO), () => Promise.resolve(remote(['pro'])));
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const first = await local.evaluate(USER, USER_ID, undefined, { reuseUntil: () => hold });
    expect(asked).toHaveLength(1);
    expect(asked[0]!.evaluation.keys).toEqual(['pro']);
    expect(asked[0]!.reuseUntil).toEqual(expect.any(Function));
    const again = await local.evaluate(USER, USER_ID, ['all']);
    expect(again).toBe(first);
    expect(asked).toHaveLength(1);
    release();
    await hold;
    await Promise.resolve();
    const after = await local.evaluate(USER, USER_ID, ['pro']);
    expect(after).not.toBe(first);
    expect(asked).toHaveLength(2);
  });
});
