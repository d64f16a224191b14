/** What the load saw on one route (a tally), and the row of the results made of it. */
import type { BenchRow, Contender, RoundFigures } from './bench-types.js';

/** What the load saw on one route, over one or more stretches of load. */
export interface Tally {
  /** Seconds of load (for each user asking once: the wall-clock time it took). */
  seconds: number;
  /** Each answer's latency, from sending the request to its response, in ms (asked once: at most 2 s). */
  latenciesMs: number[];
  /** Responses received (asked once: every request, a failed one included). */
  answered: number;
  /** Responses that match the user's last known flag value (200 for on, 404 for off). */
  matches: number;
  /** Requests that failed or timed out without a response. */
  errors: number;
  /** `/flags` calls PostHog received during the load. */
  upstreamCalls: number;
  /** The app's CPU time during the load, in µs. */
  cpuMicros: number;
  /** Time spent in the route's guard during the load, in ns (timed guards only). */
  guardNanos: number;
  /** The route's guard's calls during the load (timed guards only). */
  guardCalls: number;
}

/** A tally with nothing counted yet. */
export function emptyTally(): Tally {
  return {
    seconds: 0,
    latenciesMs: [],
    answered: 0,
    matches: 0,
    errors: 0,
    upstreamCalls: 0,
    cpuMicros: 0,
    guardNanos: 0,
    guardCalls: 0,
  };
}

/** Adds what `part` counted (one turn) to `whole` (every turn of the route). */
export function addTo(whole: Tally, part: Tally): void {
  whole.seconds += part.seconds;
  for (const latency of part.latenciesMs) whole.latenciesMs.push(latency);
  whole.answered += part.answered;
  whole.matches += part.matches;
  whole.errors += part.errors;
  whole.upstreamCalls += part.upstreamCalls;
  whole.cpuMicros += part.cpuMicros;
  whole.guardNanos += part.guardNanos;
  whole.guardCalls += part.guardCalls;
}

/**
 * What one round saw of a route, from its loaded turn's tally and its serial turn's. A turn that answered nothing
 * cost without bound per answer: it never looks cheaper than one that answered.
 */
export function roundFigures(tally: Tally, serial: Tally): RoundFigures {
  return {
    requestsPerSecond: tally.answered / tally.seconds,
    cpuMicrosPerRequest: tally.answered ? tally.cpuMicros / tally.answered : Number.POSITIVE_INFINITY,
    ...(tally.guardCalls > 0 ? { guardMicrosPerRequest: tally.guardNanos / tally.guardCalls / 1000 } : {}),
    serialP99Ms: serial.answered ? percentile(serial.latenciesMs, 0.99) : null,
  };
}

/** The row of a route's tallies; with `guardTimed`, the time its guard took per request (see `GuardTimes`). */
export function toRow(
  scenario: string,
  contender: Contender,
  tally: Tally,
  serial: Tally,
  guardTimed = false,
): Omit<BenchRow, 'ofCeiling'> {
  return {
    scenario,
    contender,
    requestsPerSecond: Math.round(tally.answered / tally.seconds),
    p50Ms: percentile(tally.latenciesMs, 0.5),
    p99Ms: percentile(tally.latenciesMs, 0.99),
    serialP99Ms: serial.answered ? percentile(serial.latenciesMs, 0.99) : null,
    cpuMicrosPerRequest: tally.answered ? Math.round(tally.cpuMicros / tally.answered) : 0,
    ...(guardTimed && tally.guardCalls > 0
      ? { guardMicrosPerRequest: round1(tally.guardNanos / tally.guardCalls / 1000) }
      : {}),
    upstreamCalls: tally.upstreamCalls,
    lastKnownShare: !answersTheFlag(contender) ? null : tally.answered ? tally.matches / tally.answered : 0,
    requests: tally.answered,
    errors: tally.errors,
  };
}

/** Whether the route's answers follow the flag (200 when on, 404 when off); the unguarded and allow-all ones don't. */
function answersTheFlag(contender: Contender): boolean {
  return contender !== 'unguarded' && contender !== 'allows all, no lookup';
}

/** `value` to one decimal. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The `q` quantile of the latencies, in ms to 0.1 ms; 0 when there are none. */
function percentile(latenciesMs: number[], q: number): number {
  if (latenciesMs.length === 0) return 0;
  const sorted = Float64Array.from(latenciesMs).sort();
  return round1(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);
}
