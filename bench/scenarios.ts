/**
 * The scenarios of a run, in their order: what PostHog does in each, the cache our module uses, the routes measured
 * in turns with ours, and the names of their rows; the route of each contender.
 */
import type { FakePostHog } from '../test/support/fake-posthog.js';
import type { Contender } from './bench-types.js';

/**
 * A scenario: the name of our row in it, the fallback cache URL our module uses there, what PostHog does, and how
 * it is measured (the routes measured in turns with ours, the ceiling among them where there is one).
 */
export interface Scenario {
  /** The scenario's name: that of our row and posthog-node's in it. */
  name: string;
  /** The fallback cache URL our module uses in the scenario. */
  cacheUrl: string;
  /** What happens to PostHog once every user has been seen, before the measurement. */
  outage?: (posthog: FakePostHog) => Promise<void>;
  /**
   * Measure from the moment the outage starts: no warm-up, the breaker not opened first (the first seconds of an
   * outage, before the breaker has seen enough failures).
   */
  fromTheStart?: boolean;
  /** The routes measured in turns with ours (`rounds`), each with the name of its row. */
  inTurns?: [Contender, string][];
  /** Both contenders evaluate locally (flag definitions loaded before the measurement). */
  localEvaluation?: boolean;
}

/** PostHog healthy; our cache without a `fresh` window (each request of ours asks PostHog). */
export const HEALTHY = 'healthy';
/** PostHog starts hanging as the measurement starts: the first seconds of an outage. */
export const STARTS_HANGING = 'PostHog starts hanging';
/** PostHog hangs, our breaker opened first. */
export const HANGING = 'PostHog hanging';
/** PostHog refuses connections, our breaker opened first. */
export const REFUSING = 'PostHog refusing';
/** Healthy, our cache fresh for 5 s: the scenario whose app also measures the ceiling and the references in turns. */
export const FRESH = 'healthy, fresh=5';
/** Ours without exposure events, measured in turns with ours in the {@link FRESH} app: what the events cost. */
export const FRESH_NO_EVENTS = 'healthy, fresh=5, exposure events off';
/**
 * The same-denials reference measured in turns with ours in the {@link FRESH} app: the reference of its throughput
 * and guard time (each outage's latencies have a reference in their own app: {@link HANGING_REFERENCE}).
 */
export const REFERENCE = 'reference: same denials, no lookup';
/** Healthy, both contenders evaluating locally (flag definitions loaded before the measurement). */
export const LOCAL_EVALUATION = 'healthy, local evaluation';
/** The same-denials reference measured in turns with ours in the app of the local evaluation scenario. */
export const LOCAL_REFERENCE = 'reference (local evaluation app): same denials, no lookup';
/**
 * The same-denials reference measured in turns with ours in the app of {@link HANGING} (and of {@link REFUSING}):
 * the reference of that outage's loaded and serial p99, in the same app and at the same time.
 */
export const HANGING_REFERENCE = 'reference (PostHog hanging app): same denials, no lookup';
/** The same-denials reference measured in turns with ours in the app of {@link REFUSING}. */
export const REFUSING_REFERENCE = 'reference (PostHog refusing app): same denials, no lookup';
/** PostHog refuses connections after both contenders have loaded the flag definitions. */
export const DOWN = 'PostHog down, definitions loaded';
/** The same, in the app whose PostHog is down (definitions loaded): what the outage adds is judged over it. */
export const DOWN_REFERENCE = 'reference (PostHog down app): same denials, no lookup';

/**
 * The routes measured around our `fresh=5` row, and the scenario names of their rows: the ceiling, the
 * references, and ours without exposure events (what they cost).
 */
const SCALE: [Contender, string][] = [
  ['unguarded', 'unguarded (ceiling)'],
  ['allows all, no lookup', 'reference: allows all, no lookup'],
  ['same denials, no lookup', REFERENCE],
  ['nestjs-posthog-flags, no exposure events', FRESH_NO_EVENTS],
];

/** The scenarios, in the order they run (the cold start, run last, is not among them: see `run.ts`). */
export const SCENARIOS: Scenario[] = [
  // posthog-node's guard in turns with ours: the app CPU yardstick compares the two over the same rounds.
  { name: HEALTHY, cacheUrl: 'memory://local', inTurns: [['posthog-node guard', HEALTHY]] },
  {
    name: STARTS_HANGING,
    cacheUrl: 'memory://local',
    fromTheStart: true,
    outage: (posthog) => {
      posthog.answer = 'hang';
      return Promise.resolve();
    },
  },
  {
    name: HANGING,
    cacheUrl: 'memory://local',
    outage: (posthog) => {
      posthog.answer = 'hang';
      return Promise.resolve();
    },
    inTurns: [['same denials, no lookup', HANGING_REFERENCE]],
  },
  {
    name: REFUSING,
    cacheUrl: 'memory://local',
    outage: (posthog) => posthog.refuse(),
    inTurns: [['same denials, no lookup', REFUSING_REFERENCE]],
  },
  { name: FRESH, cacheUrl: 'memory://local?fresh=5', inTurns: SCALE },
  {
    name: LOCAL_EVALUATION,
    cacheUrl: 'memory://local',
    localEvaluation: true,
    inTurns: [
      ['same denials, no lookup', LOCAL_REFERENCE],
      ['posthog-node guard, local evaluation', LOCAL_EVALUATION],
    ],
  },
  {
    name: DOWN,
    cacheUrl: 'memory://local',
    localEvaluation: true,
    outage: (posthog) => posthog.refuse(),
    inTurns: [['same denials, no lookup', DOWN_REFERENCE]],
  },
];

/** The scenario of a new process starting while PostHog refuses connections (see `coldStart` in `run.ts`). */
export const COLD_START = 'cold start during an outage';

/** The route each contender answers in the benchmark app (see `contenders.ts`). */
export const ROUTES: Record<Contender, string> = {
  'nestjs-posthog-flags': '/ours',
  'nestjs-posthog-flags, no exposure events': '/ours-quiet',
  'posthog-node guard': '/posthog-node',
  'posthog-node guard, local evaluation': '/posthog-node',
  unguarded: '/unguarded',
  'allows all, no lookup': '/allow-all',
  'same denials, no lookup': '/reference',
};
