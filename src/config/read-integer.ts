/** The bounds of an integer setting, and the unit its errors name. */
export interface IntegerBounds {
  min: number;
  max: number;
  /** E.g. `milliseconds`, `seconds`, `bytes`. */
  unit: string;
}

/**
 * The integer a setting holds: a number, or a string of digits (what `ConfigService` and URL parameters give).
 * @throws {Error} saying what it must be and what it got (a string is quoted: settings read here hold no secret); a
 * whole number above `max` is said to be too large, with both bounds.
 */
export function readInteger(value: unknown, { min, max, unit }: IntegerBounds): number {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number === 'number' && Number.isSafeInteger(number) && number >= min && number <= max) return number;
  const got =
    typeof value === 'string' ? `"${value}"` : typeof value === 'number' ? String(value) : `a ${typeof value}`;
  const tooLarge = typeof number === 'number' && Number.isInteger(number) && number > max;
  if (tooLarge) throw new Error(`must be an integer from ${min} to ${max} (${unit}), got ${got}: too large`);
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
  throw new Error(`must be an integer ${range} (${unit}), got ${got}`);
}
