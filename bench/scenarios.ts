/**
 * The scenarios of a run, in their order: what PostHog does in each, the cache our module uses, the routes measured
 * in turns with ours, and the names of their rows; the route of each contender.
 */
import type { FakePostHog } from '../test/support/fake-posthog.js';
import type { Contender } from './bench-types.js';

/** What PostHog does in a scenario, the fallback cache URL our module uses in it, and whether the ceiling is measured there. */
interface Scenario {
  name: string;
  cacheUrl: string;
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

/**
 * The routes measured around our `fresh=5` row, and the scenario names of their rows: the ceiling, the
 * references, and ours without exposure events (what they cost).
 */
const SCALE: [Contender, string][] = [
  ['unguarded', 'unguarded (ceiling)'],
  ['allows all, no lookup', 'reference: allows all, no lookup'],
  ['same denials, no lookup', 'reference: same denials, no lookup'],
  ['nestjs-posthog-flags, no exposure events', 'healthy, fresh=5, exposure events off'],
];

/** The same-denials reference measured in turns with ours in the app of the local evaluation scenario. */
export const LOCAL_REFERENCE = 'reference (local evaluation app): same denials, no lookup';
/** The same, in the app whose PostHog is down (definitions loaded): what the outage adds is judged over it. */
export const DOWN_REFERENCE = 'reference (PostHog down app): same denials, no lookup';

/** The scenarios, in the order they run (the cold start, run last, is not among them: see `run.ts`). */
export const SCENARIOS: Scenario[] = [
  { name: 'healthy', cacheUrl: 'memory://local' },
  {
    name: 'PostHog starts hanging',
    cacheUrl: 'memory://local',
    fromTheStart: true,
    outage: async (posthog) => {
      posthog.answer = 'hang';
    },
  },
  {
    name: 'PostHog hanging',
    cacheUrl: 'memory://local',
    outage: async (posthog) => {
      posthog.answer = 'hang';
    },
  },
  { name: 'PostHog refusing', cacheUrl: 'memory://local', outage: (posthog) => posthog.refuse() },
  { name: 'healthy, fresh=5', cacheUrl: 'memory://local?fresh=5', inTurns: SCALE },
  {
    name: 'healthy, local evaluation',
    cacheUrl: 'memory://local',
    localEvaluation: true,
    inTurns: [
      ['same denials, no lookup', LOCAL_REFERENCE],
      ['posthog-node guard, local evaluation', 'healthy, local evaluation'],
    ],
  },
  {
    name: 'PostHog down, definitions loaded',
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
