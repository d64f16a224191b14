/** The yardsticks: the module's targets, judged on the rows of a run against references measured in the same run. */
import type { BenchResult, BenchRow, Contender, Yardstick } from './bench-types.js';
import { OURS_CLIENT, type ClientCost } from './client-cost.js';
import { COLD_START, DOWN_REFERENCE, LOCAL_REFERENCE } from './scenarios.js';
import { round1 } from './tally.js';

/** The module's `fallbackAfterMs` in the benchmark: its default. */
const FALLBACK_AFTER_MS = 500;

/**
 * The module's targets, each against a reference measured in the same run: the guard that looks nothing up and
 * denies the same users (`same denials, no lookup`, in the same app), posthog-node, or `fallbackAfterMs`.
 */
export function yardsticks(rows: BenchRow[], roundRatios: BenchResult['roundRatios'], client: ClientCost): Yardstick[] {
  const row = (scenario: string, contender: Contender = 'nestjs-posthog-flags') =>
    rows.find((candidate) => candidate.scenario === scenario && candidate.contender === contender);
  const judged: Yardstick[] = [];
  const add = (name: string, target: string, measured: string, met: boolean) =>
    judged.push({ name, target, measured, met });
  /**
   * A scenario measured in turns with the same-denials reference: its throughput (median of the rounds' ratios) and
   * the time in its guard, each against the reference's.
   */
  const asCheapAsTheReference = (scenario: string, referenceScenario: string) => {
    const ours = row(scenario);
    const reference = row(referenceScenario, 'same denials, no lookup');
    if (!ours || !reference) return;
    const share = medianRatio(roundRatios[scenario]?.['same denials, no lookup'], ours, reference);
    add(
      `${scenario}: throughput`,
      `≥ 0.90 × reference (median of the rounds' ratios)`,
      `${share.toFixed(3)} × (${ours.requestsPerSecond} against ${reference.requestsPerSecond} req/s over all rounds)`,
      share >= 0.9,
    );
    if (ours.guardMicrosPerRequest === undefined || reference.guardMicrosPerRequest === undefined) return;
    const guardBudget = round1(reference.guardMicrosPerRequest + 5);
    add(
      `${scenario}: time in the guard per request`,
      `≤ reference + 5 µs (${guardBudget} µs), timed in the app`,
      `${ours.guardMicrosPerRequest} µs`,
      ours.guardMicrosPerRequest <= guardBudget,
    );
  };
  /**
   * Of a row's CPU per request, what its upstream calls (refreshes behind the answer) took: their share of the
   * requests times one call's cost, as the client microbench of this run measured it (client and loopback server
   * together: an upper bound of the app's share). The `healthy` row's CPU less the reference's, used before, also
   * counts what a request costs Nest at a tenth of the throughput, and read two to four times as much.
   */
  const refreshMicros = (ours: BenchRow): number | undefined => {
    if (ours.requests === 0) return undefined;
    return round1((ours.upstreamCalls / ours.requests) * client.microsPerCall[OURS_CLIENT]!);
  };
  const healthy = row('healthy');
  const theirsHealthy = row('healthy', 'posthog-node guard');
  if (healthy && theirsHealthy) {
    const budget = Math.round(theirsHealthy.cpuMicrosPerRequest * 0.75);
    add(
      'healthy: app CPU per request',
      `≤ 0.75 × the posthog-node guard's (${budget} µs)`,
      `${healthy.cpuMicrosPerRequest} µs`,
      healthy.cpuMicrosPerRequest <= budget,
    );
  }
  add(
    'client: CPU per /flags round trip',
    "≤ 0.35 × fetch's (median of the rounds' ratios)",
    `${client.oursToFetch.toFixed(3)} × (${round1(client.microsPerCall[OURS_CLIENT]!)} µs per call)`,
    client.oursToFetch <= 0.35,
  );
  asCheapAsTheReference('healthy, fresh=5', 'reference: same denials, no lookup');
  const freshRow = row('healthy, fresh=5');
  const refresh = freshRow && refreshMicros(freshRow);
  if (freshRow && refresh !== undefined) {
    add(
      'healthy, fresh=5: refresh CPU per request',
      '≤ 3 µs',
      `${refresh} µs (${freshRow.upstreamCalls} upstream calls for ${freshRow.requests} requests, ` +
        `${round1(client.microsPerCall[OURS_CLIENT]!)} µs each)`,
      refresh <= 3,
    );
  }
  const reference = row('reference: same denials, no lookup', 'same denials, no lookup');
  for (const scenario of ['PostHog hanging', 'PostHog refusing']) {
    const outage = row(scenario);
    if (!outage || !reference) continue;
    const bound = Math.round((reference.p99Ms * 1.25 + 1) * 10) / 10;
    add(
      `${scenario}: loaded p99`,
      `≤ reference × 1.25 + 1 ms (${bound} ms)`,
      `${outage.p99Ms} ms`,
      outage.p99Ms <= bound,
    );
    const serial = outage.serialP99Ms;
    const serialBound = reference.serialP99Ms === null ? null : round1(reference.serialP99Ms + 0.5);
    add(
      `${scenario}: serial p99`,
      `≤ reference's serial p99 + 0.5 ms (${serialBound ?? 'reference: no answer'} ms)`,
      serial === null ? 'no answer' : `${serial} ms`,
      serial !== null && serialBound !== null && serial <= serialBound,
    );
    add(...lastKnown(scenario, outage));
  }
  const fresh = row('healthy, fresh=5');
  const silent = row('healthy, fresh=5, exposure events off', 'nestjs-posthog-flags, no exposure events');
  if (fresh && silent) {
    const ratios = roundRatios['healthy, fresh=5']?.['nestjs-posthog-flags, no exposure events'];
    const share = medianRatio(ratios, fresh, silent);
    add(
      'healthy, fresh=5: exposure events cost',
      `≥ 0.95 × ours without them (median of the rounds' ratios)`,
      `${share.toFixed(3)} × (${fresh.requestsPerSecond} against ${silent.requestsPerSecond} req/s over all rounds)`,
      share >= 0.95,
    );
  }
  const starting = row('PostHog starts hanging');
  if (starting) {
    const bound = FALLBACK_AFTER_MS + 50;
    add(
      'PostHog starts hanging: p99',
      `≤ fallbackAfterMs + 50 ms (${bound} ms)`,
      `${starting.p99Ms} ms`,
      starting.p99Ms <= bound,
    );
    add(...lastKnown('PostHog starts hanging', starting));
  }
  asCheapAsTheReference('healthy, local evaluation', 'reference (local evaluation app): same denials, no lookup');
  const local = row('healthy, local evaluation');
  const theirs = row('healthy, local evaluation', 'posthog-node guard, local evaluation');
  if (local && theirs) {
    const share = medianRatio(
      roundRatios['healthy, local evaluation']?.['posthog-node guard, local evaluation'],
      local,
      theirs,
    );
    add(
      'healthy, local evaluation: ahead of posthog-node',
      `> 1 × posthog-node local (median of the rounds' ratios)`,
      `${share.toFixed(3)} × (${local.requestsPerSecond} against ${theirs.requestsPerSecond} req/s over all rounds)`,
      share > 1,
    );
  }
  const down = row('PostHog down, definitions loaded');
  const downReference = row(DOWN_REFERENCE, 'same denials, no lookup');
  const localReference = row(LOCAL_REFERENCE, 'same denials, no lookup');
  if (down && local && downReference && localReference) {
    // Each over the reference measured in turns in its own app: the two apps run minutes apart on a drifting host.
    const added = round1(down.cpuMicrosPerRequest - downReference.cpuMicrosPerRequest);
    const healthyAdded = round1(local.cpuMicrosPerRequest - localReference.cpuMicrosPerRequest);
    add(
      'PostHog down, definitions loaded: app CPU per request',
      `≤ healthy local evaluation's + 10 µs, each over the same-denials reference in turns (${round1(healthyAdded + 10)} µs)`,
      `${added} µs (${down.cpuMicrosPerRequest} against ${downReference.cpuMicrosPerRequest} µs)`,
      added <= healthyAdded + 10,
    );
  }
  if (down) add(...lastKnown('PostHog down, definitions loaded', down));
  const cold = row(COLD_START);
  if (cold) {
    const share = cold.lastKnownShare ?? 0;
    add(`${COLD_START}: right answers`, '100%', `${(share * 100).toFixed(1)}% (p99 ${cold.p99Ms} ms)`, share === 1);
  }
  return judged;
}

/** The median of the per-round throughput ratios, or the rows' overall ratio when there are none. */
function medianRatio(ratios: number[] | undefined, row: BenchRow, other: BenchRow): number {
  if (!ratios || ratios.length === 0) return row.requestsPerSecond / other.requestsPerSecond;
  const sorted = [...ratios].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The yardstick "every user gets their last known value" of a row. */
function lastKnown(scenario: string, row: BenchRow): [string, string, string, boolean] {
  const share = row.lastKnownShare ?? 0;
  return [`${scenario}: last known values`, '100%', `${(share * 100).toFixed(1)}%`, share === 1];
}
