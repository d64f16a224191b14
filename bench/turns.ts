/** The order in which the bench's contenders take turns. */

/**
 * What takes turns, in the order of a round: as given, reversed every other round, so that no contender always
 * follows the same other one.
 */
export function inRound<T>(turns: readonly T[], round: number): readonly T[] {
  return round % 2 === 0 ? turns : [...turns].reverse();
}
