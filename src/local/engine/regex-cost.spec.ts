import { describe, expect, it, jest } from '@jest/globals';
import { RE2JS } from 're2js';
import { isInconclusive } from './inconclusive.js';
import { matchesRegex } from './portable-regex.js';
import { MAX_ESTIMATED_PROGRAM_SIZE, estimatedProgramSize } from './regex-cost.js';

/** Whether the call threw a doubt (the condition goes to PostHog). */
function doubted(call: () => unknown): boolean {
  try {
    call();
    return false;
  } catch (error) {
    return isInconclusive(error);
  }
}

describe('the program-size estimate', () => {
  it.each([
    '^(a+)+$',
    '(x+x+)+y',
    '[a-z]{1000}$',
    '(?:ab|cd){500}$',
    '(?:.{30}){30}b',
    '\\d{3}-\\d{4}',
    '(a{10}){0,20}',
    '[^\\]x]{2,40}|y',
  ])('%s: is at least the size of the program RE2 compiles', (pattern) => {
    expect(estimatedProgramSize(pattern)).toBeGreaterThanOrEqual(RE2JS.compile(pattern).programSize());
  });

  // Counted repetitions multiply: each of these compiles to tens of thousands of instructions or more (585,000 for
  // the first, about a second to compile). They are refused from the estimate, before RE2 compiles anything.
  it.each([
    ['counted repetitions in a row', 'a{1000}'.repeat(585)],
    ['nested counted repetitions', '((a{30}){30}){30}'],
    ['a counted repetition of a large group', `(?:${'[a-z]'.repeat(100)}){100}`],
  ])('refuses %s before compiling it: the server judges', (_, pattern) => {
    expect(estimatedProgramSize(pattern)).toBeGreaterThan(MAX_ESTIMATED_PROGRAM_SIZE);
    const compile = jest.spyOn(RE2JS, 'compile');
    try {
      expect(doubted(() => matchesRegex(pattern, 'a'))).toBe(true);
      expect(compile).not.toHaveBeenCalled();
    } finally {
      compile.mockRestore();
    }
  });

  it('reads every pattern as a guess, never throws', () => {
    for (const pattern of ['(', ')', '{', 'a{', 'a{1', 'a{1,', '[', '[]', '\\', '(?:', 'a{99999}']) {
      expect(Number.isFinite(estimatedProgramSize(pattern))).toBe(true);
    }
  });
});
