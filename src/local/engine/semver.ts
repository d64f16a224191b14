import { Inconclusive } from './inconclusive.js';

/** A version as `[major, minor, patch]`. */
type Version = [number, number, number];

/** A half-open range of versions, `[lower, upper)`. */
interface VersionRange {
  lower: Version;
  upper: Version;
}

/**
 * `1.2.3`, `v1.2`, `1` (missing parts are 0), a pre-release or build suffix ignored; a leading zero is not a
 * number (strict semver).
 * @throws {Inconclusive} for anything else.
 */
export function parseSemver(value: unknown): Version {
  const text = String(value).trim().replace(/^[vV]/, '');
  const base = text.split('-')[0]!.split('+')[0]!;
  if (!base || base.startsWith('.')) throw new Inconclusive(`invalid semver: ${String(value)}`);
  const parts = base.split('.');
  const part = (index: number): number => {
    const raw = parts[index];
    return raw === undefined || raw === '' ? 0 : numericIdentifier(raw, value);
  };
  return [part(0), part(1), part(2)];
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`. */
export function compareSemver(a: Version, b: Version): number {
  for (let index = 0; index < 3; index++) {
    if (a[index]! !== b[index]!) return a[index]! < b[index]! ? -1 : 1;
  }
  return 0;
}

/** Whether `version` lies in the range the operator (`semver_tilde`, `_caret`, `_wildcard`) makes of `filter`. */
export function isWithinSemverRange(operator: string, filter: unknown, version: () => Version): boolean {
  const { lower, upper } = rangeOf(operator, filter);
  const parsed = version();
  return compareSemver(parsed, lower) >= 0 && compareSemver(parsed, upper) < 0;
}

/** The range of a `~`, `^` or `*` filter. @throws {Inconclusive} for an invalid filter. */
export function rangeOf(operator: string, filter: unknown): VersionRange {
  if (operator === 'semver_wildcard') return wildcardRange(filter);
  const [major, minor, patch] = parseSemver(filter);
  const lower: Version = [major, minor, patch];
  if (operator === 'semver_tilde') return { lower, upper: [major, minor + 1, 0] };
  const upper: Version = major > 0 ? [major + 1, 0, 0] : minor > 0 ? [0, minor + 1, 0] : [0, 0, patch + 1];
  return { lower, upper };
}

/** `1.*` or `1.2.*` (or without the `.*`). */
function wildcardRange(filter: unknown): VersionRange {
  const text = String(filter).trim().replace(/^[vV]/, '').replace(/\.\*$/, '').replace(/\*$/, '');
  if (!text) throw new Inconclusive(`invalid wildcard semver: ${String(filter)}`);
  const parts = text.split('.');
  const part = (raw: string): number => {
    try {
      return numericIdentifier(raw, filter);
    } catch {
      throw new Inconclusive(`invalid wildcard semver: ${String(filter)}`);
    }
  };
  const major = part(parts[0]!);
  if (parts.length === 1) return { lower: [major, 0, 0], upper: [major + 1, 0, 0] };
  const minor = part(parts[1]!);
  return { lower: [major, minor, 0], upper: [major, minor + 1, 0] };
}

function numericIdentifier(part: string, raw: unknown): number {
  if (!/^\d+$/.test(part) || (part.length > 1 && part[0] === '0')) {
    throw new Inconclusive(`invalid semver: ${String(raw)}`);
  }
  return parseInt(part, 10);
}
