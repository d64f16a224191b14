/**
 * The shapes of a benchmark run: how it is sized, who answers a route, a row of the results, a yardstick, and the
 * whole result.
 */
import type { ClientCost, ClientCostOptions } from './client-cost.js';

/** How a benchmark run is sized. */
export interface BenchOptions {
  /** Seconds of load per contender and scenario. */
  durationSeconds: number;
  /** Seconds of unmeasured load first (JIT warm-up). */
  warmupSeconds: number;
  /** Concurrent connections of the load. */
  connections: number;
  /** Seconds of the second latency measurement, one request at a time (a single connection). */
  serialSeconds: number;
  /**
   * Rounds in which the routes of a scenario measured in turns take turns (the order reversed every other round):
   * the yardsticks take the median of the per-round comparisons (see {@link RoundFigures}).
   */
  rounds: number;
  /** Seconds each route is loaded in each round of a scenario measured in turns. */
  roundSeconds: number;
  /** Distinct users; even ones have the flag on, odd ones off. */
  users: number;
  /** Milliseconds PostHog takes to answer. */
  latencyMs: number;
  /** Per-attempt timeout of both contenders; undefined: their defaults (3 s). */
  timeoutMs?: number;
  /** The client microbench, run first: its yardstick, and what one of our refreshes costs. */
  client: ClientCostOptions;
}

/**
 * Who answers a route: the two contenders, the unguarded route, and the two reference guards that look nothing up
 * (one lets everyone through, one denies the same users as the flag).
 */
export type Contender =
  | 'nestjs-posthog-flags'
  | 'nestjs-posthog-flags, no exposure events'
  | 'posthog-node guard'
  | 'posthog-node guard, local evaluation'
  | 'unguarded'
  | 'allows all, no lookup'
  | 'same denials, no lookup';

/** One contender in one scenario. */
export interface BenchRow {
  /** The row's name: its scenario's, or the one a route measured in turns with ours is given (see `scenarios.ts`). */
  scenario: string;
  /** Who answered the route. */
  contender: Contender;
  /** {@link BenchRow.requests} per second of load (over all rounds for a row measured in turns). */
  requestsPerSecond: number;
  /** Requests per second as a share of the unguarded route's (the ceiling row). */
  ofCeiling: number;
  /** Median latency at full concurrency, from sending a request to its response, in ms. */
  p50Ms: number;
  /** p99 latency at full concurrency, in ms. */
  p99Ms: number;
  /** p99 with one request at a time: what a request costs, without queueing behind the others; null: none answered. */
  serialP99Ms: number | null;
  /**
   * The app process's CPU time per answered request under load, in µs (upstream calls included): what the
   * route costs, less swayed than requests/s by what else the machine is doing.
   */
  cpuMicrosPerRequest: number;
  /**
   * The time spent inside the route's guard per request, in µs, timed in the app (see `GuardTimes`): ours and the
   * same-denials reference, in the scenarios that measure them in turns; absent elsewhere.
   */
  guardMicrosPerRequest?: number;
  /** `/flags` calls PostHog received during the measurement. */
  upstreamCalls: number;
  /**
   * Share of responses that match each user's last known flag value (200 for on, 404 for off); null where the
   * route does not follow the flag.
   */
  lastKnownShare: number | null;
  /** Responses received at full concurrency (the cold start: every request, a failed one included). */
  requests: number;
  /** Requests at full concurrency that failed or timed out without a response. */
  errors: number;
}

/**
 * What one round of a scenario measured in turns saw of one route: its turn under load and its serial turn, unrounded
 * but for the p99. The yardsticks judge two routes by the median, over the rounds, of what they compare in each round
 * (ours' turn against the other's turn of the same round): a drifting host sways that far less than one figure of the
 * pooled turns.
 */
export interface RoundFigures {
  /** Responses per second of the turn under load. */
  requestsPerSecond: number;
  /** The app's CPU time per answered request in the turn under load, in µs; unbounded when none was answered. */
  cpuMicrosPerRequest: number;
  /** The time in the route's guard per request in the turn under load, in µs (timed guards only). */
  guardMicrosPerRequest?: number;
  /** The serial turn's p99, in ms to 0.1 ms; null: none answered. */
  serialP99Ms: number | null;
}

/** One target the module is held to, judged against references measured in the same run. */
export interface Yardstick {
  /** What is measured, e.g. `healthy, fresh=5: throughput`. */
  name: string;
  /** The bound, in words with its figure, e.g. `≥ 0.95 × reference (8909 req/s)`. */
  target: string;
  /** What this run measured, e.g. `8154 req/s (0.87 ×)`. */
  measured: string;
  /** Whether the bound was met; undefined for a figure printed as information, no longer a yardstick. */
  met?: boolean;
}

/** A whole run: the rows, the yardsticks judged on them, and the machine they were measured on. */
export interface BenchResult {
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };
  options: BenchOptions;
  rows: BenchRow[];
  /** The client microbench of this run (see `client-cost.ts`). */
  client: ClientCost;
  /** Per scenario measured in turns, per route: what each round saw of it (ours' included). */
  rounds: Record<string, Partial<Record<Contender, RoundFigures[]>>>;
  yardsticks: Yardstick[];
}
