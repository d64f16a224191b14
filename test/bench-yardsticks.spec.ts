import { describe, expect, it } from '@jest/globals';
import type { BenchResult, BenchRow, Contender, RoundFigures } from '../bench/bench-types.js';
import { OURS_CLIENT, type ClientCost } from '../bench/client-cost.js';
import { yardsticks } from '../bench/yardsticks.js';

const OURS = 'nestjs-posthog-flags';
const SAME_DENIALS = 'same denials, no lookup';
const HANGING = 'PostHog hanging';
const HANGING_REFERENCE = 'reference (PostHog hanging app): same denials, no lookup';
const CLIENT: ClientCost = { microsPerCall: { [OURS_CLIENT]: 100 }, oursToFetch: 0.3, rounds: 1, callsPerRound: 1 };

/** A row whose pooled figures are `figures`, everything else unremarkable. */
function rowOf(scenario: string, contender: Contender, figures: Partial<BenchRow>): BenchRow {
  return {
    scenario,
    contender,
    requestsPerSecond: 5000,
    ofCeiling: 1,
    p50Ms: 2,
    p99Ms: 14,
    serialP99Ms: 1,
    cpuMicrosPerRequest: 270,
    upstreamCalls: 0,
    lastKnownShare: 1,
    requests: 50_000,
    errors: 0,
    ...figures,
  };
}

/** Rounds whose serial p99 are `serialP99Ms`, the rest unremarkable. */
function serialRounds(serialP99Ms: (number | null)[]): RoundFigures[] {
  return serialP99Ms.map((p99) => ({ requestsPerSecond: 5000, cpuMicrosPerRequest: 270, serialP99Ms: p99 }));
}

/** The hanging scenario's serial p99 yardstick, judged on pooled rows and on what each round saw. */
function hangingSerial(pooled: [number, number], ours: (number | null)[], reference: number[]) {
  const rows = [
    rowOf(HANGING, OURS, { serialP99Ms: pooled[0] }),
    rowOf(HANGING_REFERENCE, SAME_DENIALS, { serialP99Ms: pooled[1] }),
  ];
  const rounds: BenchResult['rounds'] = {
    [HANGING]: { [OURS]: serialRounds(ours), [SAME_DENIALS]: serialRounds(reference) },
  };
  return yardsticks(rows, rounds, CLIENT).find((judged) => judged.name === `${HANGING}: serial p99`)!;
}

describe('the yardsticks judge two routes measured in turns round by round', () => {
  it('a serial p99 by the median of the rounds’ differences, ours’ turn against the reference’s of the same round', () => {
    // The host alternates fast and slow rounds, and one turn of ours is slow: round by round ours is 0.1 ms over the
    // reference. The pooled turns (1.5 against 0.8), the two medians apart (1.6 against 1.05) and ours paired with
    // the reference's next round (a median of 1.0) would each miss the bound.
    const ours = [1.0, 2.0, 1.1, 2.1, 1.2, 2.2, 1.0, 2.0, 9.0, 1.1];
    const reference = [0.9, 1.9, 1.0, 2.0, 1.1, 2.1, 0.9, 1.9, 1.0, 1.0];
    const judged = hangingSerial([1.5, 0.8], ours, reference);
    expect(judged).toMatchObject({ met: true, measured: '+0.1 ms (1.5 ms against 0.8 ms over all rounds)' });
  });

  it('meets the bound with a median printed on it', () => {
    // 1.1 − 0.6 is 0.5000000000000001 in floating point: judged as printed, to 0.1 ms.
    const judged = hangingSerial([1.1, 0.6], Array(10).fill(1.1), Array(10).fill(0.6));
    expect(judged).toMatchObject({ met: true, measured: '+0.5 ms (1.1 ms against 0.6 ms over all rounds)' });
  });

  it('misses where most rounds are over the bound, whatever the pooled figures say', () => {
    const judged = hangingSerial([1, 1], [1.6, 1.7, 0.9, 1.8, 1.6], [1, 1, 1, 1, 1]);
    expect(judged).toMatchObject({ met: false, measured: '+0.6 ms (1 ms against 1 ms over all rounds)' });
  });

  it('counts a round in which ours had no answer as unbounded, and leaves out one where the reference had none', () => {
    expect(hangingSerial([1, 1], [null, null, 1, 1, null], [1, 1, 1, 1, 1]).met).toBe(false);
    const withoutReference = yardsticks(
      [rowOf(HANGING, OURS, {}), rowOf(HANGING_REFERENCE, SAME_DENIALS, { serialP99Ms: null })],
      { [HANGING]: { [OURS]: serialRounds([null, 1]), [SAME_DENIALS]: serialRounds([null, 1]) } },
      CLIENT,
    ).find((judged) => judged.name === `${HANGING}: serial p99`)!;
    expect(withoutReference).toMatchObject({ met: true, measured: '0 ms (1 ms against no answer over all rounds)' });
  });

  it('the time in the guard by the median of the rounds’ differences, leaving out a round not timed', () => {
    const local = 'healthy, local evaluation';
    const reference = 'reference (local evaluation app): same denials, no lookup';
    const guardRounds = (micros: (number | undefined)[]): RoundFigures[] =>
      micros.map((guard) => ({
        requestsPerSecond: 5000,
        cpuMicrosPerRequest: 270,
        serialP99Ms: 1,
        ...(guard === undefined ? {} : { guardMicrosPerRequest: guard }),
      }));
    const judged = yardsticks(
      [
        rowOf(local, OURS, { guardMicrosPerRequest: 20 }),
        rowOf(reference, SAME_DENIALS, { guardMicrosPerRequest: 14 }),
      ],
      { [local]: { [OURS]: guardRounds([12, 30, 13, undefined]), [SAME_DENIALS]: guardRounds([8, 10, 9, 9]) } },
      CLIENT,
    ).find((yardstick) => yardstick.name === `${local}: time in the guard per request`)!;
    // Differences 4, 20 and 4 (the fourth round not timed): +4 µs, where the pooled figures say +6.
    expect(judged).toMatchObject({ met: true, measured: expect.stringMatching(/^\+4 µs \(20 against/) });
  });

  it('app CPU by the median of the rounds’ ratios', () => {
    const cpuRounds = (micros: number[]): RoundFigures[] =>
      micros.map((cpu) => ({ requestsPerSecond: 500, cpuMicrosPerRequest: cpu, serialP99Ms: 30 }));
    const judge = (ours: number[]) =>
      yardsticks(
        [rowOf('healthy', OURS, { cpuMicrosPerRequest: 935 }), rowOf('healthy', 'posthog-node guard', {})],
        { healthy: { [OURS]: cpuRounds(ours), 'posthog-node guard': cpuRounds([1000, 1000, 1000]) } },
        CLIENT,
      ).find((judged) => judged.name === 'healthy: app CPU per request')!;
    expect(judge([700, 740, 1200])).toMatchObject({ met: true, measured: expect.stringMatching(/^0\.740 × \(935/) });
    expect(judge([700, 800, 1200]).met).toBe(false);
  });
});
