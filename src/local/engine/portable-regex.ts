import { LRUCache } from 'lru-cache';
import { RE2JS } from 're2js';
import { Inconclusive } from './inconclusive.js';
import { MAX_ESTIMATED_PROGRAM_SIZE, MAX_MATCH_STEPS, MAX_PATTERN_LENGTH, estimatedProgramSize } from './regex-cost.js';

/** Punctuation whose escape means the character itself in every regex dialect. */
const ESCAPED_LITERAL = /[\x20-\x2f:;=?@\x5b-\x60\x7b-\x7e]/;

/**
 * Whether `value` matches PostHog's regex `pattern` as its server (Rust's `regex`) would; `undefined` for a
 * pattern JavaScript cannot compile (the server cannot either: no match). Matched by RE2 (`re2js`), in time linear
 * in the input: no pattern and no value can block the event loop (a backtracking engine took seconds on
 * `^(a+)+$`); Rust's engine is of the same family. The work is bounded ({@link MAX_MATCH_STEPS}).
 * @throws {Inconclusive} (a regex doubt) for syntax or input where RE2 and the server may disagree, that RE2
 * cannot express (back-references, look-arounds, repetitions past 1000), or that would take more work than the
 * bounds of `regex-cost.ts` allow (a pattern too long or too large, a program too large for the input's length).
 */
export function matchesRegex(pattern: string, value: string): boolean | undefined {
  if (pattern === '') return true;
  const regex = compiled(pattern);
  if (regex === 'doubt') throw regexDoubt('regex syntax needs the server');
  if (regex === undefined) return undefined;
  if (regex.programSize() * (value.length + 1) > MAX_MATCH_STEPS) throw regexDoubt('this input is too long here');
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    // Beyond ASCII the dialects' classes differ; `\r` and `\v` are where `.` and `\s` do.
    if (code > 0x7f || code === 0x0d || code === 0x0b) throw regexDoubt('this input needs the server');
  }
  return regex.matcher(value).find();
}

/** What a pattern compiles to: RE2's program; `invalid` (no match); `doubt` (the server judges). */
type Compiled = RE2JS | 'invalid' | 'doubt';

/**
 * Patterns compiled so far: each is checked and compiled once (definitions hold few). Bounded in count and in the
 * programs' total size; the least recently used goes first.
 */
const COMPILED = new LRUCache<string, Compiled>({
  max: 1000,
  maxSize: 100 * MAX_ESTIMATED_PROGRAM_SIZE,
  sizeCalculation: (regex) => (regex instanceof RE2JS ? Math.max(regex.programSize(), 1) : 1),
});

/** The pattern compiled by RE2; `undefined` when it does not compile; `doubt` when it may not mean the same. */
function compiled(pattern: string): RE2JS | 'doubt' | undefined {
  let regex = COMPILED.get(pattern);
  if (regex === undefined) {
    regex = compile(pattern) ?? 'invalid';
    COMPILED.set(pattern, regex);
  }
  return regex === 'invalid' ? undefined : regex;
}

/**
 * The pattern for RE2, when its portable part (see {@link portableClasses}) compiles in JavaScript too and each of
 * its character classes means the same with `u`. JavaScript only checks the syntax here (compiling does not
 * match, so it cannot backtrack); a pattern RE2 rejects after that is one it cannot express: the server judges, as
 * it does a pattern longer than {@link MAX_PATTERN_LENGTH} or whose program would be too large to compile here.
 */
function compile(pattern: string): RE2JS | 'doubt' | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return 'doubt';
  const classes = portableClasses(pattern);
  if (classes === undefined) return 'doubt';
  try {
    new RegExp(pattern);
  } catch (error) {
    return error instanceof SyntaxError ? undefined : 'doubt';
  }
  for (const characterClass of classes) {
    try {
      new RegExp(characterClass, 'u');
    } catch {
      return 'doubt';
    }
  }
  if (estimatedProgramSize(pattern) > MAX_ESTIMATED_PROGRAM_SIZE) return 'doubt';
  try {
    return RE2JS.compile(pattern);
  } catch {
    return 'doubt';
  }
}

function regexDoubt(message: string): Inconclusive {
  return new Inconclusive(message, 'context', true);
}

/**
 * The pattern's character classes when the rest of it means the same in JavaScript and in the server's dialect;
 * `undefined` when it might not (non-ASCII, look-arounds, possessive or odd quantifiers, unusual escapes…).
 */
function portableClasses(pattern: string): string[] | undefined {
  const classes: string[] = [];
  let classStart = -1;
  let previous = '';
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index]!;
    if (character.charCodeAt(0) > 0x7f) return undefined;
    if (character === '\\') {
      const escaped = pattern[++index];
      if (escaped === undefined) break;
      if (escaped === 'x') {
        if (!/^[\da-f]{2}$/i.test(pattern.slice(index + 1, index + 3))) return undefined;
        index += 2;
      } else if (!'dDsSwWbBfnrtv'.includes(escaped) && !ESCAPED_LITERAL.test(escaped)) {
        return undefined;
      }
      if (classStart === -1 && 'bB'.includes(escaped)) return undefined;
      previous = 'literal';
      continue;
    }
    if (character === '[') {
      if (classStart !== -1) return undefined;
      classStart = index;
    } else if (character === ']' && classStart !== -1) {
      const contentStart = classStart + (pattern[classStart + 1] === '^' ? 2 : 1);
      if (index === contentStart) return undefined;
      classes.push(pattern.slice(classStart, index + 1));
      classStart = -1;
      previous = 'literal';
      continue;
    } else if (classStart !== -1) {
      if (['&&', '--', '~~'].includes(pattern.slice(index, index + 2))) return undefined;
      continue;
    } else if (character === '(' && pattern[index + 1] === '?') {
      if (pattern[index + 2] !== ':') return undefined;
      index += 2;
    } else if (character === '{') {
      const repetition = /^\{(\d+)(?:,(\d*))?\}/.exec(pattern.slice(index));
      if (!repetition || ['', '|', '('].includes(previous)) return undefined;
      if (repetition.slice(1).some((count) => Number(count) > 0xffffffff)) return undefined;
    } else if ('*+?}'.includes(character) && (pattern[index + 1] === '+' || pattern[index + 1] === '{')) {
      return undefined;
    }
    if ('*+?{'.includes(character) && ['^', '$', 'empty group'].includes(previous)) return undefined;
    previous = character === ')' && ['(', 'empty group'].includes(previous) ? 'empty group' : character;
  }
  return classes;
}
