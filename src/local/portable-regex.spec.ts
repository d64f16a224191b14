import { describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { indexDefinitions, parseDefinitions } from './definitions.js';
import { isInconclusive } from './inconclusive.js';
import { evaluateLocally } from './local-evaluator.js';
import { localSubject } from './local-subject.js';
import { matchesRegex } from './portable-regex.js';

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
  // A bound the issue asks for, generous for a loaded 2-core machine: a backtracking engine took 13.9 s on 32 bytes.
  const BOUND_MS = 50;

  it.each(CATASTROPHIC)('%s: an evaluation of inputs up to 10 kB blocks the loop < 50 ms', (pattern, input) => {
    const definitions = regexFlag(pattern);
    let slowest = 0;
    for (const size of [32, 100, 1000, 10_000]) {
      const subject = localSubject({ distinctId: 'u', personProperties: { name: input(size) } });
      // The fastest of three: a garbage collection or a busy neighbour may stretch one run; a backtracking engine
      // is slow every time.
      let fastest = Infinity;
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        const answer = evaluateLocally(definitions, subject, undefined, new Date());
        fastest = Math.min(fastest, performance.now() - started);
        expect(answer.results.get('f')?.enabled).toBe(false);
      }
      slowest = Math.max(slowest, fastest);
    }
    expect(slowest).toBeLessThan(BOUND_MS);
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
  const BOUND_MS = 50;

  it.each(LARGE_PROGRAMS.map((pattern) => [pattern.slice(0, 40), pattern]))(
    '%s: an evaluation of inputs of 10 to 30 kB blocks the loop < 50 ms, undecided when the work would be more',
    (_, pattern) => {
      const definitions = regexFlag(pattern);
      let slowest = 0;
      for (const size of [10_000, 30_000]) {
        const subject = localSubject({ distinctId: 'u', personProperties: { name: `${'a'.repeat(size)}!` } });
        let fastest = Infinity;
        for (let run = 0; run < 3; run++) {
          const started = performance.now();
          const answer = evaluateLocally(definitions, subject, undefined, new Date());
          fastest = Math.min(fastest, performance.now() - started);
          expect(answer.results.get('f')?.enabled ?? 'undecided').not.toBe(true);
        }
        slowest = Math.max(slowest, fastest);
      }
      expect(slowest).toBeLessThan(BOUND_MS);
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
