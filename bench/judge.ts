/**
 * What the yardsticks judge with: a run's rows, two routes measured in turns compared round by round (the median of
 * the rounds' ratios or differences), and a yardstick's figures as the report prints them.
 */
import type { BenchResult, BenchRow, Contender, RoundFigures, Yardstick } from './bench-types.js';
import type { ClientCost } from './client-cost.js';
import { round1 } from './tally.js';
import { median } from './turns.js';

/** What the yardsticks are judged on: a run's rows, what each round saw of the routes in turns, its client microbench. */
export interface Run {
  /** Every row of the run (the pooled turns of the routes measured in turns). */
  rows: BenchRow[];
  /** Per scenario measured in turns (the name of its app), per route: what each round saw of it. */
  rounds: BenchResult['rounds'];
  /** The client microbench of the run. */
  client: ClientCost;
}

/** A row of the run: its name (the scenario's, or the one a route in turns with ours is given) and its contender. */
export interface RowOf {
  /** The row's name. */
  scenario: string;
  /** Who answered the row's route. */
  contender: Contender;
}

/** The row of `scenario` (the row's name) and `contender`, ours unless told; undefined when the run has none. */
export function row(
  rows: BenchRow[],
  scenario: string,
  contender: Contender = 'nestjs-posthog-flags',
): BenchRow | undefined {
  return rows.find((candidate) => candidate.scenario === scenario && candidate.contender === contender);
}

/** A yardstick, its fields in the order of the report. */
export function yardstick(name: string, target: string, measured: string, met: boolean | undefined): Yardstick {
  return { name, target, measured, met };
}

/**
 * Ours in `scenario` and `other`, a route measured in turns with it in the same app: their rows, and the
 * {@link pairedMedian} of their rounds by `compare`. Undefined where the run has no such rows or rounds.
 */
export function paired(
  { rows, rounds }: Run,
  scenario: string,
  other: RowOf,
  compare: (ours: RoundFigures, theirs: RoundFigures) => number | null,
): { median: number; ours: BenchRow; theirs: BenchRow } | undefined {
  const ours = row(rows, scenario);
  const theirs = row(rows, other.scenario, other.contender);
  const oursRounds = rounds[scenario]?.['nestjs-posthog-flags'];
  const theirRounds = rounds[scenario]?.[other.contender];
  if (!ours || !theirs || !oursRounds || !theirRounds) return undefined;
  return { median: pairedMedian(oursRounds, theirRounds, compare), ours, theirs };
}

/**
 * The median over the rounds of `compare`, each round of `ours` against the same round of `theirs`: rounds it
 * returns null or NaN for left out, NaN when none is left (which meets no bound).
 */
export function pairedMedian(
  ours: readonly RoundFigures[],
  theirs: readonly RoundFigures[],
  compare: (ours: RoundFigures, theirs: RoundFigures) => number | null,
): number {
  const compared = ours.map((figures, round) => compare(figures, theirs[round]!));
  return median(compared.filter((value): value is number => value !== null && !Number.isNaN(value)));
}

/** A round's time in our guard over the other's, in µs; nothing to compare where either guard was not timed. */
export function guardOver(ours: RoundFigures, other: RoundFigures): number | null {
  if (ours.guardMicrosPerRequest === undefined || other.guardMicrosPerRequest === undefined) return null;
  return ours.guardMicrosPerRequest - other.guardMicrosPerRequest;
}

/**
 * `value` to one decimal with its sign and `unit`, e.g. `+3.5 µs`, `-0.4 ms`: a difference as printed, and as judged
 * (by {@link round1}, so that a figure printed on its bound meets it).
 */
export function signed(value: number, unit: string): string {
  const rounded = round1(value);
  return `${rounded > 0 ? '+' : ''}${rounded} ${unit}`;
}
