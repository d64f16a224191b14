/** The order in which the bench's contenders take turns, and the median over the rounds that judges them. */

/**
 * What takes turns, in the order of a round: as given, reversed every other round, so that no contender always
 * follows the same other one.
 */
export function inRound<T>(turns: readonly T[], round: number): readonly T[] {
  return round % 2 === 0 ? turns : [...turns].reverse();
}

/** The median of `values` (of an even count, the mean of the middle two); NaN when there are none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
