/**
 * A whole benchmark run, in order: the client microbench, each scenario in an app process of its own (prepared,
 * then measured), the cold start, and the yardsticks judged on the rows.
 */
import { FakePostHog } from '../test/support/fake-posthog.js';
import { RedisServer } from '../test/support/redis-server.js';
import { startServer, type BenchServer } from './app-process.js';
import type { BenchOptions, BenchResult, BenchRow, Contender, RoundFigures } from './bench-types.js';
import { measureClientCost } from './client-cost.js';
import { benchDefinitions, benchUser, flagIsOnFor, type BenchApp } from './contenders.js';
import { askEachOnce, measure, measureInTurns, type Bench } from './measure.js';
import { formatRow, machine } from './report.js';
import { COLD_START, ROUTES, SCENARIOS, type Scenario } from './scenarios.js';
import { emptyTally, toRow, type Tally } from './tally.js';
import { yardsticks } from './yardsticks.js';

/**
 * Runs every scenario for both contenders. The unguarded route (the ceiling), the reference guards and ours without
 * exposure events are measured in the `fresh=5` scenario's app, in turns with our row (`rounds`), so that a shared
 * machine's drift falls on them alike; so are the same-denials reference and posthog-node in the local evaluation
 * scenario, and the same-denials reference in the apps of the breaker-open outages and of PostHog down; in the
 * healthy scenario, posthog-node's guard.
 */
export async function runBenchmark(
  options: BenchOptions,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const client = await measureClientCost(options.client);
  log(`client microbench: ${JSON.stringify(client.microsPerCall)} µs per /flags round trip`);
  const { posthog, users } = await startBenchPostHog(options);
  const rows: Omit<BenchRow, 'ofCeiling'>[] = [];
  const rounds: BenchResult['rounds'] = {};
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
        const measured = await measureScenario(app, bench, scenario);
        measured.rows.forEach(record);
        if (measured.rounds) rounds[scenario.name] = measured.rounds;
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
    rounds,
    yardsticks: yardsticks(judged, rounds, client),
  };
}

/**
 * One scenario in its app (prepared): ours and the routes it takes turns with, then posthog-node's guard alone
 * unless it is among them; their rows and, where routes took turns, what each round saw of them.
 */
async function measureScenario(
  app: BenchServer,
  bench: Bench,
  scenario: Scenario,
): Promise<{ rows: Omit<BenchRow, 'ofCeiling'>[]; rounds?: Partial<Record<Contender, RoundFigures[]>> }> {
  const warm = !scenario.fromTheStart;
  const inTurns = scenario.inTurns ?? [];
  const inTurnsWithOurs = await measureInTurns(
    app,
    bench,
    ['nestjs-posthog-flags', ...inTurns.map(([contender]) => contender)],
    inTurns.length > 0 ? bench.options.rounds : 1,
    warm,
  );
  const measured: Map<Contender, { tally: Tally; serial: Tally }> = new Map(inTurnsWithOurs);
  const theirs = scenario.localEvaluation ? 'posthog-node guard, local evaluation' : 'posthog-node guard';
  if (!measured.has(theirs)) measured.set(theirs, await measure(app, bench, theirs, warm));
  const rows = [...measured].map(([contender, { tally, serial }]) => {
    const rowName = inTurns.find(([other]) => other === contender)?.[1] ?? scenario.name;
    return toRow(rowName, contender, tally, serial, inTurns.length > 0);
  });
  if (inTurns.length === 0) return { rows };
  const rounds = Object.fromEntries([...inTurnsWithOurs].map(([contender, turns]) => [contender, turns.rounds]));
  return { rows, rounds };
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

/**
 * The fake PostHog of a run, on loopback: `options.users` users (`user-0`, …), the flag on for the even ones in its
 * `/flags` answers and in the definitions it serves, answering after `options.latencyMs`.
 */
export async function startBenchPostHog(
  options: Pick<BenchOptions, 'users' | 'latencyMs'>,
): Promise<{ posthog: FakePostHog; users: string[] }> {
  const users = Array.from({ length: options.users }, (_, index) => benchUser(index));
  const posthog = await FakePostHog.start();
  posthog.latencyMs = options.latencyMs;
  posthog.setFlags({ beta: { enabled: true } });
  users.forEach((user) => posthog.setFlags({ beta: { enabled: flagIsOnFor(user) } }, user));
  posthog.definitions = benchDefinitions();
  return { posthog, users };
}

/** Every user asks once on both guarded routes while PostHog is healthy: their last known values. */
export async function seeEveryUser(app: Pick<BenchApp, 'url'>, users: string[]): Promise<void> {
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

/** Whether the fake PostHog accepts connections (a scenario's outage may have left it refusing them). */
async function isListening(posthog: FakePostHog): Promise<boolean> {
  try {
    await fetch(`${posthog.url}/health`);
    return true;
  } catch {
    return false;
  }
}
