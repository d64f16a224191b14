import { Inconclusive } from './inconclusive.js';

/** `-30d`, `12h`, `-2w`, `6m`, `1y`: so long before now (the sign is optional, below 10 000 units). */
const RELATIVE_DATE = /^-?(?<amount>[0-9]+)(?<unit>[a-z])$/;

/**
 * The date a filter value names: relative to `now` (`-30d`, `-12h`, `-2w`, `-6m`, `-1y`) or absolute.
 * @throws {Inconclusive} for a boolean or a value that is no date.
 */
export function filterDate(value: unknown, now: Date): Date {
  if (typeof value === 'boolean') throw new Inconclusive('a date filter cannot be a boolean');
  return relativeDate(String(value), now) ?? toDate(value);
}

/** A string, number or `Date` as a date. @throws {Inconclusive} for anything else or an invalid date. */
export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') {
    const date = new Date(value);
    if (!isNaN(date.valueOf())) return date;
    throw new Inconclusive(`${value} is not a valid date`);
  }
  throw new Inconclusive('a date must be a string, number or Date');
}

/** The date `value` (`-30d` …) names before `now`; `undefined` when it is not a relative date. */
function relativeDate(value: string, now: Date): Date | undefined {
  const match = RELATIVE_DATE.exec(value);
  if (!match) return undefined;
  const amount = parseInt(match.groups!.amount!, 10);
  if (amount >= 10000) return undefined;
  const date = new Date(now.getTime());
  switch (match.groups!.unit) {
    case 'h':
      date.setUTCHours(date.getUTCHours() - amount);
      return date;
    case 'd':
      date.setUTCDate(date.getUTCDate() - amount);
      return date;
    case 'w':
      date.setUTCDate(date.getUTCDate() - 7 * amount);
      return date;
    case 'm':
      subtractMonths(date, amount);
      return date;
    case 'y':
      subtractYears(date, amount);
      return date;
    default:
      return undefined;
  }
}

/** Months back, the day clamped to the target month's last (31 March − 1 month = 28 or 29 February). */
function subtractMonths(date: Date, months: number): void {
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  let day = date.getUTCDate();
  for (let step = 1; step <= months && day > 28; step++) {
    day = Math.min(day, new Date(Date.UTC(year, month - step + 1, 0)).getUTCDate());
  }
  date.setUTCFullYear(year, month - months, day);
}

/** Years back; 29 February becomes 28 February. */
function subtractYears(date: Date, years: number): void {
  const month = date.getUTCMonth();
  const day = years > 0 && month === 1 && date.getUTCDate() === 29 ? 28 : date.getUTCDate();
  date.setUTCFullYear(date.getUTCFullYear() - years, month, day);
}
