import autocannon from 'autocannon';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakePostHog } from '../test/support/fake-posthog.js';
import { measureClientCost, OURS_CLIENT, type ClientCost, type ClientCostOptions } from './client-cost.js';
import { RedisServer } from '../test/support/redis-server.js';
import {
  benchDefinitions,
  benchUser,
  flagIsOnFor,
  type BenchApp,
  type BenchAppOptions,
  type GuardTimes,
} from './contenders.js';

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));

/** The benchmark app in its child process, which can also tell the CPU time it has used. */
interface BenchServer extends Omit<BenchApp, 'guardTimes'> {
  /** The app process's CPU time so far (user + system), in µs. */
  cpuMicros(): Promise<number>;
  guardTimes(): Promise<GuardTimes>;
}

/** Starts the benchmark app in a child process (see `server.ts`). */
function startServer(options: BenchAppOptions): Promise<BenchServer> {
  const child = fork(SERVER, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /** Sends `message` and resolves with the child's reply. */
  const ask = <T>(message: string) =>
    new Promise<T>((answered) => {
      child.once('message', (reply) => answered(reply as T));
      child.send(message);
    });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the benchmark app exited (${code}) before it was ready`)));
    child.once('message', (message) => {
      child.removeAllListeners('exit');
      resolve({
        url: (message as { url: string }).url,
        cpuMicros: async () => (await ask<{ cpuMicros: number }>('cpu')).cpuMicros,
        guardTimes: async () => (await ask<{ guards: GuardTimes }>('guards')).guards,
        flushEvents: async () => void (await ask('flush')),
        definitionsLoaded: async () => void (await ask('definitions')),
        close: () =>
          new Promise<void>((closed) => {
            child.once('exit', () => closed());
            child.send('close');
          }),
      });
    });
  });
}

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
   * the yardsticks take the median of the per-round ratios.
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
  scenario: string;
  contender: Contender;
  requestsPerSecond: number;
  /** Requests per second as a share of the unguarded route's (the ceiling row). */
  ofCeiling: number;
  p50Ms: number;
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
  requests: number;
  errors: number;
}

/** One target the module is held to, judged against references measured in the same run. */
export interface Yardstick {
  /** What is measured, e.g. `healthy, fresh=5: throughput`. */
  name: string;
  /** The bound, in words with its figure, e.g. `≥ 0.95 × reference (8909 req/s)`. */
  target: string;
  /** What this run measured, e.g. `8154 req/s (0.87 ×)`. */
  measured: string;
  met: boolean;
}

/** A whole run: the rows, the yardsticks judged on them, and the machine they were measured on. */
export interface BenchResult {
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };
  options: BenchOptions;
  rows: BenchRow[];
  /** The client microbench of this run (see `client-cost.ts`). */
  client: ClientCost;
  /** Per scenario measured in turns, per round: ours' throughput over each other route's. */
  roundRatios: Record<string, Partial<Record<Contender, number[]>>>;
  yardsticks: Yardstick[];
}

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

/** The module's `fallbackAfterMs` in the benchmark: its default. */
const FALLBACK_AFTER_MS = 500;

/** The same-denials reference measured in turns with ours in the app of the local evaluation scenario. */
const LOCAL_REFERENCE = 'reference (local evaluation app): same denials, no lookup';
/** The same, in the app whose PostHog is down (definitions loaded): what the outage adds is judged over it. */
const DOWN_REFERENCE = 'reference (PostHog down app): same denials, no lookup';

const SCENARIOS: Scenario[] = [
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

/** The scenario of a new process starting while PostHog refuses connections (see {@link coldStart}). */
const COLD_START = 'cold start during an outage';

/** How long the cold-start measurement waits for one answer before counting it wrong. */
const COLD_START_LIMIT_MS = 2000;

const ROUTES: Record<Contender, string> = {
  'nestjs-posthog-flags': '/ours',
  'nestjs-posthog-flags, no exposure events': '/ours-quiet',
  'posthog-node guard': '/posthog-node',
  'posthog-node guard, local evaluation': '/posthog-node',
  unguarded: '/unguarded',
  'allows all, no lookup': '/allow-all',
  'same denials, no lookup': '/reference',
};

/**
 * Runs every scenario for both contenders. The unguarded route (the ceiling), the reference guards and ours without
 * exposure events are measured in the `fresh=5` scenario's app, in turns with our row (`rounds`), so that a shared
 * machine's drift falls on them alike; so are the same-denials reference and posthog-node in the local evaluation
 * scenario.
 */
export async function runBenchmark(
  options: BenchOptions,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const client = await measureClientCost(options.client);
  log(`client microbench: ${JSON.stringify(client.microsPerCall)} µs per /flags round trip`);
  const users = Array.from({ length: options.users }, (_, index) => benchUser(index));
  const posthog = await FakePostHog.start();
  posthog.latencyMs = options.latencyMs;
  posthog.setFlags({ beta: { enabled: true } });
  users.forEach((user) => posthog.setFlags({ beta: { enabled: flagIsOnFor(user) } }, user));
  posthog.definitions = benchDefinitions();
  const rows: Omit<BenchRow, 'ofCeiling'>[] = [];
  const roundRatios: BenchResult['roundRatios'] = {};
  const bench = { posthog, users, options };
  const record = (row: Omit<BenchRow, 'ofCeiling'>) => {
    rows.push(row);
    log(formatRow({ ...row, ofCeiling: Number.NaN }));
  };
  try {
    for (const scenario of SCENARIOS) {
      const app = await startServer({
        posthogUrl: posthog.url,
        cacheUrl: scenario.cacheUrl,
        timeoutMs: options.timeoutMs,
        localEvaluation: scenario.localEvaluation,
      });
      try {
        if (scenario.localEvaluation) await app.definitionsLoaded();
        await seeEveryUser(app, users);
        await app.flushEvents();
        await scenario.outage?.(posthog);
        if (scenario.outage && !scenario.fromTheStart && !scenario.localEvaluation) await openTheBreaker(app, users);
        const warm = !scenario.fromTheStart;
        const inTurns = scenario.inTurns ?? [];
        const perRound = new Map<Contender, number[]>();
        const measured = await measureInTurns(
          app,
          bench,
          ['nestjs-posthog-flags', ...inTurns.map(([contender]) => contender)],
          inTurns.length > 0 ? options.rounds : 1,
          perRound,
          warm,
        );
        const theirs = scenario.localEvaluation ? 'posthog-node guard, local evaluation' : 'posthog-node guard';
        if (!measured.has(theirs)) measured.set(theirs, await measure(app, bench, theirs, warm));
        for (const [contender, { tally, serial }] of measured) {
          const rowName = inTurns.find(([other]) => other === contender)?.[1] ?? scenario.name;
          record(toRow(rowName, contender, tally, serial, inTurns.length > 0));
        }
        if (inTurns.length > 0) roundRatios[scenario.name] = ratiosToOurs(perRound);
      } finally {
        if (!(await isListening(posthog))) await posthog.accept();
        posthog.answer = 'flags';
        await app.close();
      }
    }
    for (const row of await coldStart(bench)) record(row);
  } finally {
    await posthog.stop();
  }
  const ceiling = rows.find((row) => row.contender === 'unguarded')!;
  const judged = rows.map((row) => ({ ...row, ofCeiling: row.requestsPerSecond / ceiling.requestsPerSecond }));
  return {
    machine: machine(),
    options,
    rows: judged,
    client,
    roundRatios,
    yardsticks: yardsticks(judged, roundRatios, client),
  };
}

/** Ours' throughput over each other route's, per round. */
function ratiosToOurs(perRound: Map<Contender, number[]>): Partial<Record<Contender, number[]>> {
  const ours = perRound.get('nestjs-posthog-flags') ?? [];
  const ratios: Partial<Record<Contender, number[]>> = {};
  for (const [contender, rates] of perRound) {
    if (contender !== 'nestjs-posthog-flags') ratios[contender] = rates.map((rate, index) => ours[index]! / rate);
  }
  return ratios;
}

/**
 * A new app process starts while PostHog refuses connections, on the Redis an earlier instance shared its
 * definitions and fallback entries through (it saw half the users), and serves each user once: half of them seen
 * before, half never seen. Ours reads the shared definitions at startup; posthog-node has only its own poller.
 * Each answer is waited for up to 2 s (longer counts as wrong, at 2 s).
 */
async function coldStart({ posthog, users, options }: Bench): Promise<Omit<BenchRow, 'ofCeiling'>[]> {
  const redis = await RedisServer.start();
  const seen = users.slice(0, Math.ceil(users.length / 2));
  const neverSeen = seen.map((_, index) => benchUser(100_000 + index));
  const settings = {
    posthogUrl: posthog.url,
    cacheUrl: redis.url(),
    localEvaluation: true,
    timeoutMs: options.timeoutMs,
  };
  try {
    const earlier = await startServer(settings);
    await earlier.definitionsLoaded();
    await seeEveryUser(earlier, seen);
    await earlier.flushEvents();
    await earlier.close();
    await posthog.refuse();
    const cold = await startServer(settings);
    try {
      const rows: Omit<BenchRow, 'ofCeiling'>[] = [];
      for (const contender of ['nestjs-posthog-flags', 'posthog-node guard, local evaluation'] as const) {
        const cpuBefore = await cold.cpuMicros();
        const tally = await askEachOnce(cold.url, ROUTES[contender], [...seen, ...neverSeen], options.connections);
        tally.cpuMicros = (await cold.cpuMicros()) - cpuBefore;
        rows.push(toRow(COLD_START, contender, tally, emptyTally()));
      }
      return rows;
    } finally {
      await cold.close();
    }
  } finally {
    await posthog.accept();
    await redis.stop();
  }
}

/** Each user asks `path` once, `concurrency` at a time; an answer later than 2 s counts as wrong, at 2 s. */
async function askEachOnce(url: string, path: string, users: string[], concurrency: number): Promise<Tally> {
  const tally = emptyTally();
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const user = users[next++]!;
      const sentAt = performance.now();
      const status = await fetch(`${url}${path}`, {
        headers: { 'x-user': user },
        signal: AbortSignal.timeout(COLD_START_LIMIT_MS),
      }).then(
        (response) => response.status,
        () => 0,
      );
      tally.latenciesMs.push(Math.min(performance.now() - sentAt, COLD_START_LIMIT_MS));
      tally.answered++;
      if (status === (flagIsOnFor(user) ? 200 : 404)) tally.matches++;
      else if (status === 0) tally.errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  tally.seconds = (performance.now() - started) / 1000;
  return tally;
}

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

/** What one measurement needs besides the app: the fake PostHog (to count calls), the users, the sizes. */
interface Bench {
  posthog: FakePostHog;
  users: string[];
  options: BenchOptions;
}

/** What the load saw on one route, over one or more stretches of load. */
interface Tally {
  seconds: number;
  latenciesMs: number[];
  answered: number;
  matches: number;
  errors: number;
  upstreamCalls: number;
  /** The app's CPU time during the load, in µs. */
  cpuMicros: number;
  /** Time spent in the route's guard during the load, and its calls (timed guards only). */
  guardNanos: number;
  guardCalls: number;
}

/** A route's load at full concurrency, and right after it, one request at a time. */
interface Measured {
  tally: Tally;
  serial: Tally;
}

/** Warms up (unless `warm` is false), then loads one contender's route for the duration, then serially. */
async function measure(app: BenchServer, bench: Bench, contender: Contender, warm = true): Promise<Measured> {
  if (warm) await warmUp(app, bench, contender);
  const tally = await load(app, bench, ROUTES[contender], bench.options.durationSeconds, emptyTally());
  return { tally, serial: await loadSerially(app, bench, contender) };
}

/**
 * Measures the routes in turns: `rounds` rounds, each route loaded for `roundSeconds` in each round
 * (the order reversed every other round, each slice after one unmeasured request per user), so that a shared
 * machine's drift falls on all of them alike; then each one serially. Records each route's throughput per round in `perRound`. Warms each route up first, unless `warm`
 * is false.
 */
async function measureInTurns(
  app: BenchServer,
  bench: Bench,
  contenders: Contender[],
  rounds: number,
  perRound: Map<Contender, number[]> = new Map(),
  warm = true,
): Promise<Map<Contender, Measured>> {
  // Routes taking turns share the rounds; a route measured alone is loaded for the whole duration at once.
  const slice = contenders.length > 1 ? bench.options.roundSeconds : bench.options.durationSeconds;
  const tallies = new Map(contenders.map((contender) => [contender, emptyTally()]));
  if (warm) for (const contender of contenders) await warmUp(app, bench, contender);
  for (let round = 0; round < rounds; round++) {
    for (const contender of round % 2 === 0 ? contenders : [...contenders].reverse()) {
      if (warm && contenders.length > 1) await resumeTraffic(app, bench, contender);
      const tally = tallies.get(contender)!;
      const before = tally.answered;
      await load(app, bench, ROUTES[contender], slice, tally);
      perRound.set(contender, [...(perRound.get(contender) ?? []), (tally.answered - before) / slice]);
    }
  }
  const measured = new Map<Contender, Measured>();
  for (const contender of contenders) {
    if (warm && contenders.length > 1) await resumeTraffic(app, bench, contender);
    measured.set(contender, { tally: tallies.get(contender)!, serial: await loadSerially(app, bench, contender) });
  }
  return measured;
}

/**
 * Each user asks the route once, unmeasured, before it takes its turn: a route finds the users' cache entries as
 * its last turn left them, under `fresh` older than twice the window (the other routes' turns took longer), so its
 * first request per user would wait for PostHog, a cost of the order of the turns, not of the route. A route with
 * steady traffic has no such gap.
 */
async function resumeTraffic(app: BenchServer, bench: Bench, contender: Contender): Promise<void> {
  await askEachOnce(app.url, ROUTES[contender], bench.users, bench.options.connections);
}

/** One request at a time (one connection): what a request costs without queueing behind the others. */
function loadSerially(app: BenchServer, bench: Bench, contender: Contender): Promise<Tally> {
  const options = { ...bench.options, connections: 1 };
  return load(app, { ...bench, options }, ROUTES[contender], bench.options.serialSeconds, emptyTally());
}

/** The same load, unmeasured (JIT warm-up). */
async function warmUp(app: BenchServer, bench: Bench, contender: Contender): Promise<void> {
  if (bench.options.warmupSeconds > 0)
    await load(app, bench, ROUTES[contender], bench.options.warmupSeconds, emptyTally());
}

function emptyTally(): Tally {
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

/**
 * Loads `path` for `seconds`, users taken in turn, and adds to `tally`: each response's latency (from sending the
 * request to its response), whether it matches the user's last known value, and PostHog's calls meanwhile.
 */
async function load(
  app: BenchServer,
  { posthog, users, options }: Bench,
  path: string,
  seconds: number,
  tally: Tally,
): Promise<Tally> {
  const callsBefore = posthog.requests.length;
  const cpuBefore = await app.cpuMicros();
  const guardBefore = (await app.guardTimes())[path];
  let next = 0;
  const result = await autocannon({
    url: app.url,
    connections: options.connections,
    duration: seconds,
    timeout: 20,
    requests: [
      {
        method: 'GET',
        path,
        setupRequest: (request, context) => {
          const user = users[next++ % users.length];
          Object.assign(context, { user, sentAt: performance.now() });
          return { ...request, headers: { ...request.headers, 'x-user': user } };
        },
        onResponse: (status, _body, context) => {
          const { user, sentAt } = context as { user: string; sentAt: number };
          tally.latenciesMs.push(performance.now() - sentAt);
          tally.answered++;
          if (status === (flagIsOnFor(user) ? 200 : 404)) tally.matches++;
        },
      },
    ],
  });
  tally.seconds += seconds;
  tally.errors += result.errors + result.timeouts;
  tally.upstreamCalls += posthog.requests.length - callsBefore;
  tally.cpuMicros += (await app.cpuMicros()) - cpuBefore;
  const guardAfter = (await app.guardTimes())[path];
  tally.guardNanos += (guardAfter?.nanos ?? 0) - (guardBefore?.nanos ?? 0);
  tally.guardCalls += (guardAfter?.calls ?? 0) - (guardBefore?.calls ?? 0);
  return tally;
}

/** The row of a route's tallies; with `guardTimed`, the time its guard took per request (see `GuardTimes`). */
function toRow(
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
function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The `q` quantile of the latencies, in ms to 0.1 ms; 0 when there are none. */
function percentile(latenciesMs: number[], q: number): number {
  if (latenciesMs.length === 0) return 0;
  const sorted = Float64Array.from(latenciesMs).sort();
  return round1(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);
}

/** Every user asks once on both guarded routes while PostHog is healthy: their last known values. */
async function seeEveryUser(app: Pick<BenchApp, 'url'>, users: string[]): Promise<void> {
  await Promise.all(
    users.flatMap((user) =>
      ['/ours', '/posthog-node'].map((path) => fetch(`${app.url}${path}`, { headers: { 'x-user': user } })),
    ),
  );
}

/** Enough failing requests, concurrently, for our circuit breaker to open (its default threshold is 5). */
async function openTheBreaker(app: Pick<BenchApp, 'url'>, users: string[]): Promise<void> {
  await Promise.all(
    users.slice(0, 5).map((user) => fetch(`${app.url}/ours`, { headers: { 'x-user': `warmup-${user}` } })),
  );
}

async function isListening(posthog: FakePostHog): Promise<boolean> {
  try {
    await fetch(`${posthog.url}/health`);
    return true;
  } catch {
    return false;
  }
}

function machine(): BenchResult['machine'] {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

function formatRow(row: BenchRow): string {
  const percent = (share: number | null) =>
    share === null || Number.isNaN(share) ? '–' : `${(share * 100).toFixed(1)}%`;
  const serial = row.serialP99Ms === null ? 'no answer' : row.serialP99Ms;
  return (
    `| ${row.scenario} | ${row.contender} | ${row.requestsPerSecond} | ${percent(row.ofCeiling)} | ${row.p50Ms} | ${row.p99Ms} | ` +
    `${serial} | ${row.cpuMicrosPerRequest} | ${row.upstreamCalls} | ${percent(row.lastKnownShare)} | ${row.errors} |`
  );
}

/** The results as a markdown table, headed by the machine and the run's settings. */
export function toMarkdown(result: BenchResult): string {
  const { machine: m, options: o } = result;
  return [
    `Measured on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform}; ` +
      `${o.connections} connections, ${o.durationSeconds} s per row (then ${o.serialSeconds} s on one connection for the serial p99), ` +
      `${o.users} users, PostHog latency ${o.latencyMs} ms` +
      `${o.timeoutMs ? `, timeouts ${o.timeoutMs} ms` : ', library default timeouts'}.`,
    '',
    '| scenario | contender | req/s | of ceiling | p50 ms | p99 ms | serial p99 ms | app CPU µs/req | upstream calls | last known value | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map(formatRow),
    '',
    '| yardstick | target | measured | |',
    '|---|---|---|---|',
    ...result.yardsticks.map((y) => `| ${y.name} | ${y.target} | ${y.measured} | ${y.met ? '✓' : '✗'} |`),
    '',
  ].join('\n');
}

/** Writes `latest.json` and `latest.md` into `directory`. */
export function writeResults(result: BenchResult, directory: string): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(`${directory}/latest.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${directory}/latest.md`, toMarkdown(result));
}
