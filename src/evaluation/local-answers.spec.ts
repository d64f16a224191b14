import { describe, expect, it, jest } from '@jest/globals';
import type { FlagContext } from '../flags.types.js';
import { indexDefinitions, parseDefinitions, type FlagDefinition } from '../local/definitions.js';
import { LocalAnswers } from './local-answers.js';
import { SubjectEvaluation } from '../local/engine/subject-evaluation.js';

/** A flag on for the users whose `plan` is `pro`. */
const PRO: FlagDefinition = {
  key: 'pro',
  active: true,
  filters: { groups: [{ properties: [{ key: 'plan', type: 'person', value: 'pro' }], rollout_percentage: 100 }] },
};
/** A flag on for everyone. */
const ALL: FlagDefinition = { key: 'all', active: true, filters: { groups: [{ rollout_percentage: 100 }] } };
/** A flag on for users who signed up within the last 7 days: its answer moves with the clock. */
const RECENT: FlagDefinition = {
  key: 'recent',
  active: true,
  filters: {
    groups: [
      {
        properties: [{ key: 'signed_up', type: 'person', operator: 'is_date_after', value: '-7d' }],
        rollout_percentage: 100,
      },
    ],
  },
};

function definitionsOf(...flags: FlagDefinition[]) {
  return indexDefinitions(parseDefinitions({ flags }));
}

const PRO_USER: FlagContext = { distinctId: 'u1', personProperties: { plan: 'pro' } };

/** A clock that starts at `start` and moves one minute on each reading, so that every evaluation has its own time. */
function ticking(start = Date.parse('2026-12-01T12:00:00Z')): () => Date {
  let minutes = 0;
  return () => new Date(start + minutes++ * 60_000);
}

describe('LocalAnswers', () => {
  it("remembers a context's answer to every flag: the next one is the same, evaluated at the same time", () => {
    const answers = new LocalAnswers();
    const definitions = definitionsOf(PRO, ALL);
    const now = ticking();
    const first = answers.answer(definitions, 'pro-user', PRO_USER, undefined, now);
    const second = answers.answer(definitions, 'pro-user', PRO_USER, undefined, now);
    expect([...second.results.values()]).toEqual([...first.results.values()]);
    expect(second.results.get('pro')).toMatchObject({ enabled: true, source: 'local' });
    expect(second.results.get('pro')!.evaluatedAt).toEqual(first.results.get('pro')!.evaluatedAt);
  });

  it('hands out the remembered answer itself, read-only: its results and undecided keys frozen', () => {
    const answers = new LocalAnswers();
    const definitions = definitionsOf(PRO, ALL);
    const first = answers.answer(definitions, 'pro-user', PRO_USER, undefined, ticking());
    const second = answers.answer(definitions, 'pro-user', PRO_USER, undefined, ticking());
    expect(second).toBe(first);
    expect([...second.results.keys()]).toEqual(['pro', 'all']);
    expect(Object.isFrozen(second.results.get('all'))).toBe(true);
    expect(Object.isFrozen(second.undecided)).toBe(true);
    // Keys it decides every one of: the same results, nothing undecided (the overrides stage keeps the keys asked).
    const some = answers.answer(definitions, 'pro-user', PRO_USER, ['pro'], ticking());
    expect(some.results).toBe(first.results);
    expect(some.undecided).toEqual([]);
    expect(answers.answer(definitions, 'pro-user', PRO_USER, ['all'], ticking())).toBe(some);
  });

  it('answers keys from the remembered answer, a key it did not decide as undecided', () => {
    const answers = new LocalAnswers();
    const definitions = definitionsOf(PRO, ALL);
    const now = ticking();
    const every = answers.answer(definitions, 'pro-user', PRO_USER, undefined, now);
    const some = answers.answer(definitions, 'pro-user', PRO_USER, ['pro', 'absent'], now);
    expect([...some.results.keys()]).toEqual(['pro']);
    expect(some.results.get('pro')!.evaluatedAt).toEqual(every.results.get('pro')!.evaluatedAt);
    expect(some.undecided).toEqual(['absent']);
  });

  it('evaluates the keys a context is first asked alone, and remembers every flag from its next question', () => {
    const answers = new LocalAnswers();
    const definitions = definitionsOf(PRO, ALL);
    const now = ticking();
    const first = answers.answer(definitions, 'pro-user', PRO_USER, ['pro'], now);
    expect([...first.results.keys()]).toEqual(['pro']);
    const second = answers.answer(definitions, 'pro-user', PRO_USER, ['pro'], now);
    expect([...second.results.keys()]).toEqual(['pro', 'all']);
    const every = answers.answer(definitions, 'pro-user', PRO_USER, undefined, now);
    expect(every.results).toBe(second.results);
    expect(every.results.get('pro')!.enabled).toBe(true);
  });

  it('keeps contexts apart by their key', () => {
    const answers = new LocalAnswers();
    const definitions = definitionsOf(PRO);
    const now = ticking();
    answers.answer(definitions, 'pro-user', PRO_USER, undefined, now);
    const free = { distinctId: 'u1', personProperties: { plan: 'free' } };
    expect(answers.answer(definitions, 'free-user', free, undefined, now).results.get('pro')!.enabled).toBe(false);
  });

  it('evaluates again when the definitions change', () => {
    const answers = new LocalAnswers();
    const now = ticking();
    answers.answer(definitionsOf(PRO), 'pro-user', PRO_USER, undefined, now);
    const off = definitionsOf({ ...PRO, active: false });
    expect(answers.answer(off, 'pro-user', PRO_USER, undefined, now).results.get('pro')!.enabled).toBe(false);
  });

  it('forgets every answer when told (the definitions were dropped), and evaluates the next one', () => {
    const answers = new LocalAnswers();
    const definitions = definitionsOf(PRO);
    const now = ticking();
    const first = answers.answer(definitions, 'pro-user', PRO_USER, undefined, now);
    answers.forget();
    const next = answers.answer(definitions, 'pro-user', PRO_USER, undefined, now);
    expect(next.results.get('pro')!.evaluatedAt).not.toEqual(first.results.get('pro')!.evaluatedAt);
  });

  it('evaluates every answer when the definitions compare dates, which move with the clock', () => {
    const answers = new LocalAnswers();
    const definitions = definitionsOf(RECENT, ALL);
    expect(definitions.comparesDates).toBe(true);
    const user = { distinctId: 'u1', personProperties: { signed_up: '2026-11-28T00:00:00Z' } };
    const at = (date: string) => () => new Date(date);
    expect(answers.answer(definitions, 'u', user, undefined, at('2026-12-01')).results.get('recent')!.enabled).toBe(
      true,
    );
    expect(answers.answer(definitions, 'u', user, undefined, at('2026-12-30')).results.get('recent')!.enabled).toBe(
      false,
    );
  });

  it('finds a date comparison anywhere in the definitions, cohorts included', () => {
    expect(definitionsOf(PRO, ALL).comparesDates).toBe(false);
    const cohorts = {
      '3': {
        type: 'OR',
        values: [{ type: 'AND', values: [{ key: 'seen', operator: 'is_date_before', value: '-1d' }] }],
      },
    };
    expect(indexDefinitions(parseDefinitions({ flags: [ALL], cohorts })).comparesDates).toBe(true);
  });

  it('forgets the least recently used contexts past its size', () => {
    const answers = new LocalAnswers(5000);
    const definitions = definitionsOf(PRO, ALL);
    const now = ticking();
    const first = answers.answer(definitions, 'user-0', PRO_USER, undefined, now);
    for (let index = 1; index < 10; index++) answers.answer(definitions, `user-${index}`, PRO_USER, undefined, now);
    const again = answers.answer(definitions, 'user-0', PRO_USER, undefined, now);
    expect(again.results.get('pro')!.evaluatedAt).not.toEqual(first.results.get('pro')!.evaluatedAt);
    const latest = answers.answer(definitions, 'user-9', PRO_USER, undefined, now);
    expect(answers.answer(definitions, 'user-9', PRO_USER, undefined, now).results.get('pro')!.evaluatedAt).toEqual(
      latest.results.get('pro')!.evaluatedAt,
    );
  });

  it('remembers 1,000 flags for 200 users at its default size: a user seen before evaluates no flag again', () => {
    // Flags evaluated up front (a regex may leave them for PostHog), each remembered as a value, not a result.
    const flags = Array.from({ length: 1000 }, (_, index) => ({
      key: `flag-${index}`,
      active: true,
      filters: {
        groups: [{ properties: [{ key: 'plan', type: 'person', operator: 'regex', value: '^pro' }] }],
      },
    }));
    const definitions = definitionsOf(...flags);
    const answers = new LocalAnswers();
    const now = ticking();
    for (let index = 0; index < 200; index++) {
      answers.answer(
        definitions,
        `user-${index}`,
        { distinctId: `user-${index}`, personProperties: { plan: 'pro' } },
        undefined,
        now,
      );
    }
    const outcome = jest.spyOn(SubjectEvaluation.prototype, 'outcome');
    try {
      const again = answers.answer(
        definitions,
        'user-0',
        { distinctId: 'user-0', personProperties: { plan: 'pro' } },
        undefined,
        now,
      );
      expect(again.results.get('flag-999')).toMatchObject({ enabled: true, source: 'local' });
      expect(outcome).not.toHaveBeenCalled();
    } finally {
      outcome.mockRestore();
    }
  });
});
