import { describe, expect, it, jest } from '@jest/globals';
import { RE2JS } from 're2js';
import { indexDefinitions, parseDefinitions } from '../definitions.js';
import { isInconclusive } from './inconclusive.js';
import { evaluateLocally } from './local-evaluator.js';
import { localSubject } from './local-subject.js';
import { matchesRegex } from './portable-regex.js';
import { MAX_ESTIMATED_PROGRAM_SIZE, MAX_MATCH_STEPS } from './regex-cost.js';

/** What `matchesRegex` says: a boolean, `undefined` (does not compile) or `doubt` (the server judges). */
function outcome(pattern: string, value: string): boolean | undefined | 'doubt' {
  try {
    return matchesRegex(pattern, value);
  } catch (error) {
    if (isInconclusive(error)) return 'doubt';
    throw error;
  }
}

/** A flag on for the users whose `name` matches the pattern (off otherwise), and nothing else. */
const regexFlag = (pattern: string) =>
  indexDefinitions(
    parseDefinitions({
      flags: [
        {
          key: 'f',
          active: true,
          filters: {
            groups: [
              {
                properties: [{ key: 'name', type: 'person', operator: 'regex', value: pattern }],
                rollout_percentage: 100,
              },
            ],
          },
        },
      ],
    }),
  );

/** What an evaluation did with the input (see {@link workOn}). */
interface Work<T> {
  /** What the evaluation returned. */
  result: T;
  /** How many of the input's characters were read (`charCodeAt` on it: RE2 reads the input so). */
  reads: number;
  /** How many times the input was handed to JavaScript's own (backtracking) regex engine. */
  backtrackingRuns: number;
}

/**
 * Runs `evaluate` counting its work on `input`, deterministically, without a clock: the characters of the input
 * read, and the runs of JavaScript's backtracking engine on it. A run of that engine throws (it could block the
 * loop for hours), and so do reads past `maxReads`: a regression fails at once instead of hanging the suite.
 */
function workOn<T>(input: string, maxReads: number, evaluate: () => T): Work<T> {
  const { charCodeAt } = String.prototype;
  const { exec } = RegExp.prototype;
  let reads = 0;
  let backtrackingRuns = 0;
  String.prototype.charCodeAt = function (this: string, index: number) {
    if (this === input && ++reads > maxReads) throw new Error(`more than ${maxReads} reads of the input`);
    return charCodeAt.call(this, index);
  };
  RegExp.prototype.exec = function (this: RegExp, text: string) {
    if (text !== input) return exec.call(this, text);
    backtrackingRuns++;
    throw new Error('the input was handed to a backtracking engine');
  };
  try {
    return { result: evaluate(), reads, backtrackingRuns };
  } finally {
    String.prototype.charCodeAt = charCodeAt;
    RegExp.prototype.exec = exec;
  }
}

describe('regex matching (re2js: linear time)', () => {
  // Patterns a backtracking engine takes exponential (or high polynomial) time on, against inputs built to fail.
  const CATASTROPHIC: [string, (size: number) => string][] = [
    ['^(a+)+$', (size) => `${'a'.repeat(size)}!`],
    ['(a|aa)+$', (size) => `${'a'.repeat(size)}!`],
    ['(a*)*b', (size) => 'a'.repeat(size)],
    ['(x+x+)+y', (size) => 'x'.repeat(size)],
    ['^(a|a?)+$', (size) => `${'a'.repeat(size)}!`],
    ['^(\\w+\\s?)*$', (size) => `${'word '.repeat(size / 5)}!`],
    [
      '^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$',
      (size) => `${'a'.repeat(size)}@`,
    ],
    ['(.*a){12}', (size) => 'a'.repeat(11) + 'b'.repeat(size)],
  ];
  // Counted, not timed (no wall-clock assertions in tests): RE2 reads each character at most once per instruction
  // of its program, so the reads grow linearly with the input; a backtracking engine took 13.9 s on 32 bytes.
  it.each(CATASTROPHIC)('%s: inputs up to 10 kB read a number of times linear in their length', (pattern, input) => {
    const definitions = regexFlag(pattern);
    const perCharacter = RE2JS.compile(pattern).programSize() + 1; // + 1: the dialect check reads each once
    for (const size of [32, 100, 1000, 10_000]) {
      const name = input(size);
      const subject = localSubject({ distinctId: 'u', personProperties: { name } });
      const maxReads = perCharacter * (name.length + 1);
      const work = workOn(name, maxReads, () => evaluateLocally(definitions, subject, undefined, new Date()));
      expect(work.backtrackingRuns).toBe(0);
      expect(work.reads).toBeLessThanOrEqual(maxReads);
      expect(work.result.results.get('f')?.enabled).toBe(false);
    }
  });

  it('agrees with JavaScript on the portable patterns (short inputs, where backtracking is harmless)', () => {
    const patterns = [
      '^a+$',
      'b{2,3}',
      '^[a-c]@x\\.com$',
      '(foo|bar)baz',
      'a.c',
      '\\d{3}-\\d{4}',
      '^\\w+$',
      '[^0-9]',
      'x?y*z+',
      '^$',
      '\\s',
      'A|B|',
      '(?:ab)+',
    ];
    const inputs = [
      '',
      'a',
      'aaa',
      'abc',
      'b@x.com',
      'foobaz',
      'barbaz',
      'bbb',
      '555-1234',
      'hello_world',
      'a c',
      'a\nc',
      'yz',
      'A',
      'ab',
    ];
    const disagreements: string[] = [];
    for (const pattern of patterns) {
      for (const input of inputs) {
        const expected = new RegExp(pattern).test(input);
        const actual = outcome(pattern, input);
        if (actual !== expected) disagreements.push(`${pattern} ${JSON.stringify(input)}: ${String(actual)}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it.each([
    ['a back-reference', '(a)\\1'],
    ['a look-ahead', 'a(?=b)'],
    ['a look-behind', '(?<=a)b'],
    ['a repetition RE2 does not take', 'a{1001}'],
    ['a named group', '(?<name>a)'],
  ])('sends %s to PostHog', (_, pattern) => {
    expect(outcome(pattern, 'aab')).toBe('doubt');
  });

  it('sends input where the dialects differ to PostHog: beyond ASCII, \\r, \\v', () => {
    expect(outcome('a', 'é a')).toBe('doubt');
    expect(outcome('a.c', 'a\rc')).toBe('doubt');
    expect(outcome('\\s', '\v')).toBe('doubt');
    expect(outcome('(', 'a')).toBeUndefined();
  });
});

describe('regex matching: bounded work per evaluation', () => {
  // Programs of a thousand instructions and more: RE2's work is the program's size × the input's length.
  const LARGE_PROGRAMS = [
    '[a-z]{1000}$',
    'a{1000}$',
    '\\w{1000}$',
    '[a-z]{500}[0-9]',
    '(?:ab|cd){500}$',
    '(?:.{30}){30}b',
    '[a-z]{1000}[a-z]{1000}b',
    'a{1000}'.repeat(585),
    `(?:${Array.from({ length: 5000 }, (_, index) => `w${index}x`).join('|')})$`,
  ];

  /** The size of each program compiled, and the steps (program size × input length) of each match run. */
  function engineWork(evaluate: () => void): { compiled: number[]; steps: number[] } {
    const compile = jest.spyOn(RE2JS, 'compile');
    const matcher = jest.spyOn(RE2JS.prototype, 'matcher');
    try {
      evaluate();
      return {
        compiled: compile.mock.results
          .filter((result) => result.type === 'return')
          .map((result) => (result.value as RE2JS).programSize()),
        steps: matcher.mock.calls.map(([text], run) => {
          const size = (matcher.mock.contexts[run] as RE2JS).programSize();
          return size * ((text as string).length + 1);
        }),
      };
    } finally {
      compile.mockRestore();
      matcher.mockRestore();
    }
  }

  // Counted, not timed (no wall-clock assertions in tests): RE2's work is linear in its program's size × the input's
  // length. No program larger than the estimate's bound is compiled; no match runs more than MAX_MATCH_STEPS.
  it.each(LARGE_PROGRAMS.map((pattern) => [pattern.slice(0, 40), pattern]))(
    '%s: inputs of 10 to 30 kB get bounded work, undecided when the work would be more',
    (_, pattern) => {
      const definitions = regexFlag(pattern);
      for (const size of [10_000, 30_000]) {
        const subject = localSubject({ distinctId: 'u', personProperties: { name: `${'a'.repeat(size)}!` } });
        const work = engineWork(() => {
          const answer = evaluateLocally(definitions, subject, undefined, new Date());
          expect(answer.results.get('f')?.enabled ?? 'undecided').not.toBe(true);
        });
        for (const programSize of work.compiled) expect(programSize).toBeLessThanOrEqual(MAX_ESTIMATED_PROGRAM_SIZE);
        for (const steps of work.steps) expect(steps).toBeLessThanOrEqual(MAX_MATCH_STEPS);
      }
    },
  );

  it('a large program against a long input goes to PostHog; against a short one it is matched here', () => {
    expect(outcome('[a-z]{1000}$', `${'a'.repeat(10_000)}!`)).toBe('doubt');
    expect(outcome('[a-z]{1000}$', 'a'.repeat(900))).toBe(false);
    expect(outcome('[a-z]{100}$', 'a'.repeat(5000))).toBe(true);
    const definitions = regexFlag('[a-z]{1000}$');
    const answer = evaluateLocally(
      definitions,
      localSubject({ distinctId: 'u', personProperties: { name: 'a'.repeat(10_000) } }),
      undefined,
      new Date(),
    );
    expect(answer.undecided).toEqual(['f']);
  });

  it('a pattern longer than 4 KiB, or one compiling to too large a program, goes to PostHog whatever the input', () => {
    expect(outcome('a'.repeat(4097), 'a')).toBe('doubt');
    expect(outcome('a'.repeat(2000), 'a'.repeat(400))).toBe(false);
    expect(outcome('a{1000}'.repeat(3), 'a')).toBe('doubt');
    expect(outcome('a{1000}'.repeat(2), 'a')).toBe(false);
  });
});
