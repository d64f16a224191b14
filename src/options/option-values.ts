import { FlagsConfigError } from '../config/flags-config-error.js';
import { readInteger, type IntegerBounds } from '../config/read-integer.js';
import { kindOf } from '../util/kind-of.js';

/** The longest delay a Node timer takes (a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** An integer option (a number or a digit string) within its bounds, or its default when not given. */
export function integerOption(name: string, value: unknown, fallback: number, bounds: IntegerBounds): number {
  if (value === undefined) return fallback;
  try {
    return readInteger(value, bounds);
  } catch (error) {
    throw new FlagsConfigError(`${name} ${(error as Error).message}`);
  }
}

/** A string option, or undefined; never echoes the value (the API key is one). */
export function stringOption(name: string, value: string | undefined): string | undefined {
  return typedOption(name, value, 'a string', (candidate) => typeof candidate === 'string');
}

/** The option when it passes `isValid`, undefined when not given. */
export function typedOption<T>(
  name: string,
  value: T | undefined,
  expected: string,
  isValid: (value: unknown) => boolean,
): T | undefined {
  if (value === undefined || isValid(value)) return value;
  throw new FlagsConfigError(`${name} must be ${expected}, got ${kindOf(value)}`);
}

/** @throws {FlagsConfigError} for a name not in `known`, naming the nearest known one. */
export function assertKnownNames(what: string, given: object, known: readonly string[]): void {
  for (const name of Object.keys(given)) {
    if (known.includes(name)) continue;
    if (name === 'isGlobal') {
      throw new FlagsConfigError('isGlobal goes beside useFactory in forRootAsync, not in the options it returns');
    }
    throw new FlagsConfigError(
      `unknown ${what} "${name}"; did you mean "${nearest(name, known)}"? Known: ${known.join(', ')}`,
    );
  }
}

/** The candidate closest to `name` (edit distance, ignoring case). */
function nearest(name: string, candidates: readonly string[]): string {
  let best = candidates[0]!;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
