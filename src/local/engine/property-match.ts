import type { FlagProperty } from '../definitions.js';
import { filterDate, toDate } from './dates.js';
import { Inconclusive, isInconclusive } from './inconclusive.js';
import { assertJsonValue, exactMatchString, isBooleanLike, isTruthy } from './json-values.js';
import { matchesRegex } from './portable-regex.js';
import { compareSemver, isWithinSemverRange, parseSemver, rangeOf } from './semver.js';

/** Operators on the value as text. */
const TEXT_OPERATORS = [
  'icontains',
  'not_icontains',
  'starts_with',
  'not_starts_with',
  'ends_with',
  'not_ends_with',
  'regex',
  'not_regex',
];

/** Operators that compare a `null` property value rather than failing on it. */
const NULL_ALLOWED = new Set(['exact', 'is_not', ...TEXT_OPERATORS]);

/** Operators whose filter value needs no check to be usable. */
const UNCHECKED_OPERATORS = new Set(['is_set', 'is_not_set', ...TEXT_OPERATORS, 'gt', 'gte', 'lt', 'lte']);

/** How a property filter is matched: PostHog's property matching version, and the clock for relative dates. */
export interface MatchOptions {
  /** `property_matching_version` from the definitions; 2 stops reading `"true"` as `true` for numbers. */
  matchingVersion?: number;
  now: Date;
}

/**
 * Whether the user's `values` satisfy the property filter (person or group properties; not cohorts or flags).
 * @throws {Inconclusive} when it cannot be decided here: the property is missing, the operator is unknown, or a
 * value cannot be compared as PostHog's server would.
 */
export function matchProperty(property: FlagProperty, values: Record<string, unknown>, options: MatchOptions): boolean {
  try {
    return matchValue(property, values, options);
  } catch (error) {
    // A missing or odd user value: still say so when the filter itself could never be decided.
    if (isInconclusive(error)) assertSupportedFilter(property, options);
    throw error;
  }
}

/**
 * @throws {Inconclusive} when the filter can never be decided locally, whatever the user: an unknown operator, an
 * invalid date or version in the filter, a value the server would compare differently.
 */
function assertSupportedFilter(property: FlagProperty, options: MatchOptions): void {
  const { value } = property;
  const operator = property.operator || 'exact';
  switch (operator) {
    case 'exact':
    case 'is_not':
      for (const item of Array.isArray(value) ? value : [value]) exactMatchString(item);
      return;
    case 'is_date_after':
    case 'is_date_before':
      filterDate(value, options.now);
      return;
    case 'semver_eq':
    case 'semver_neq':
    case 'semver_gt':
    case 'semver_gte':
    case 'semver_lt':
    case 'semver_lte':
      parseSemver(String(value));
      return;
    case 'semver_tilde':
    case 'semver_caret':
    case 'semver_wildcard':
      rangeOf(operator, String(value));
      return;
    default:
      if (!UNCHECKED_OPERATORS.has(operator)) throw new Inconclusive(`unknown operator ${operator}`);
  }
}

function matchValue(property: FlagProperty, values: Record<string, unknown>, options: MatchOptions): boolean {
  const { key, value } = property;
  const operator = property.operator || 'exact';
  if (!Object.prototype.hasOwnProperty.call(values, key))
    throw new Inconclusive(`property ${key} is missing`, 'context', false, 'missing_context');
  if (operator === 'is_not_set') return false;
  if (operator === 'is_set') return true;
  const actual = values[key];
  if (actual === undefined) throw new Inconclusive(`property ${key} is undefined`, 'context', false, 'missing_context');
  if (actual === null && !NULL_ALLOWED.has(operator)) return false;
  switch (operator) {
    case 'exact':
      return exactMatch(value, actual, options.matchingVersion);
    case 'is_not':
      return !exactMatch(value, actual, options.matchingVersion);
    case 'icontains':
      return asciiLower(actual).includes(asciiLower(value));
    case 'not_icontains':
      return !asciiLower(actual).includes(asciiLower(value));
    case 'starts_with':
      return asciiLower(actual).startsWith(asciiLower(value));
    case 'not_starts_with':
      return !asciiLower(actual).startsWith(asciiLower(value));
    case 'ends_with':
      return asciiLower(actual).endsWith(asciiLower(value));
    case 'not_ends_with':
      return !asciiLower(actual).endsWith(asciiLower(value));
    case 'regex':
    case 'not_regex': {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value as text, as posthog-node does
      const matched = matchesRegex(String(value), String(actual));
      if (matched === undefined) return false;
      return operator === 'regex' ? matched : !matched;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return compareOrdered(operator, actual, value);
    case 'is_date_after':
    case 'is_date_before': {
      const limit = filterDate(value, options.now);
      const date = toDate(actual);
      return operator === 'is_date_before' ? date < limit : date > limit;
    }
    default:
      return matchSemver(operator, value, actual);
  }
}

/** `exact`: booleans as booleans, arrays as membership, else JSON text compared case-insensitively. */
function exactMatch(target: unknown, actual: unknown, matchingVersion: number | undefined): boolean {
  if ((matchingVersion !== 2 && isBooleanLike(target)) || (Array.isArray(target) && target.length === 0)) {
    assertJsonValue(actual);
    return isTruthy(target) === isTruthy(actual);
  }
  if (matchingVersion === 2 && typeof actual === 'number' && isBooleanLike(target)) {
    assertJsonValue(actual);
    return false;
  }
  const actualText = exactMatchString(actual).toLowerCase();
  if (Array.isArray(target)) return target.some((item) => exactMatchString(item).toLowerCase() === actualText);
  return exactMatchString(target).toLowerCase() === actualText;
}

/** `gt` … `lte`: numerically when both sides are numbers, else as strings. */
function compareOrdered(operator: string, actual: unknown, filter: unknown): boolean {
  const right = typeof filter === 'number' ? filter : parseFloat(String(filter));
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value as text, as posthog-node does
  const left = typeof actual === 'number' ? actual : actual != null ? parseFloat(String(actual)) : NaN;
  if (Number.isFinite(right) && Number.isFinite(left)) return ordered(operator, left, right);
  return ordered(operator, String(actual), String(filter));
}

function ordered<T extends number | string>(operator: string, left: T, right: T): boolean {
  if (operator === 'gt') return left > right;
  if (operator === 'gte') return left >= right;
  if (operator === 'lt') return left < right;
  return left <= right;
}

/** The semver comparisons, on `compareSemver(user's version, filter)`. */
const SEMVER_COMPARISONS: Record<string, (comparison: number) => boolean> = {
  semver_eq: (comparison) => comparison === 0,
  semver_neq: (comparison) => comparison !== 0,
  semver_gt: (comparison) => comparison > 0,
  semver_gte: (comparison) => comparison >= 0,
  semver_lt: (comparison) => comparison < 0,
  semver_lte: (comparison) => comparison <= 0,
};

function matchSemver(operator: string, filter: unknown, actual: unknown): boolean {
  const version = () => parseSemver(String(actual));
  const comparison = Object.hasOwn(SEMVER_COMPARISONS, operator) ? SEMVER_COMPARISONS[operator] : undefined;
  if (comparison) return comparison(compareSemver(version(), parseSemver(String(filter))));
  if (operator === 'semver_tilde' || operator === 'semver_caret' || operator === 'semver_wildcard') {
    return isWithinSemverRange(operator, String(filter), version);
  }
  throw new Inconclusive(`unknown operator ${operator}`);
}

/**
 * Lower-cases ASCII letters only, as the server does: `toLowerCase()` when the text is all ASCII (the same there,
 * and the common case), else letter by letter.
 */
function asciiLower(value: unknown): string {
  const text = String(value);
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 0x7f) return text.replace(/[A-Z]/g, (character) => character.toLowerCase());
  }
  return text.toLowerCase();
}
