/**
 * The remote half of the project-size scenario (`npm run bench:project-size` runs it after the local half): a Nest
 * app on Express in a process of its own with a route under `@FeatureFlag('beta')` and a `redis://` fallback cache
 * (a `redis-server` of the bench's own), the fake PostHog in this process honouring `flag_keys_to_evaluate`, for
 * projects of 10, 100 and 1,000 flags; the same users asked again. Ours against a guard around posthog-node's
 * `isFeatureEnabled` (which asks PostHog for its one flag) in the same app, in turns: app CPU per request (median
 * of the rounds), and the Redis commands per request of ours once every answer is unchanged.
 */
import { Redis } from 'ioredis';
import { FakePostHog } from '../test/support/fake-posthog.js';
import { commandCalls } from '../test/support/redis-commands.js';
import { RedisServer } from '../test/support/redis-server.js';
import { startServer } from './app-process.js';
import type { BenchOptions, Contender } from './bench-types.js';
import { benchUser, flagIsOnFor } from './contenders.js';
import { askEachOnce, loadRoute, type Bench } from './measure.js';
import { inRound, median } from './turns.js';

/** The sizes, the load and the rounds of one run. */
const OPTIONS: BenchOptions = {
  durationSeconds: 1.5,
  warmupSeconds: 2,
  connections: 20,
  serialSeconds: 0,
  rounds: 10,
  roundSeconds: 1.5,
  users: 200,
  latencyMs: 2,
  client: { rounds: 0, callsPerRound: 0 },
};
const SIZES = [10, 100, 1000];
const OURS: Contender = 'nestjs-posthog-flags';
const THEIRS: Contender = 'posthog-node guard';

/** One size's medians: app CPU µs per request of each contender, and ours' Redis commands per request. */
export interface RemoteSizeRow {
  count: number;
  ours: number;
  theirs: number;
  redisCommandsPerRequest: number;
}

/** Measures one project size: ours and posthog-node's guard in turns, then ours' Redis commands. */
async function measureSize(count: number, options = OPTIONS): Promise<RemoteSizeRow> {
  const users = Array.from({ length: options.users }, (_, index) => benchUser(index));
  const posthog = await FakePostHog.start();
  posthog.latencyMs = options.latencyMs;
  posthog.setFlags({ beta: { enabled: true } });
  for (let index = 1; index < count; index++) posthog.setFlag(`flag-${index}`, { value: index % 3 === 0 });
  users.forEach((user) => posthog.setFlags({ beta: { enabled: flagIsOnFor(user) } }, user));
  const redisServer = await RedisServer.start();
  const redis = new Redis(redisServer.port, '127.0.0.1', { lazyConnect: true });
  await redis.connect();
  const app = await startServer({ posthogUrl: posthog.url, cacheUrl: redisServer.url('ttl=3600') });
  try {
    const bench: Bench = { posthog, users, options };
    // Each route's first requests (a route's first one asks for every flag), each user's answers cached and
    // written, the JIT warm: what follows is the same users asking again.
    for (const contender of [OURS, THEIRS]) {
      await askEachOnce(app.url, routeOf(contender), users, 10);
      await loadRoute(app, bench, routeOf(contender), options.warmupSeconds);
    }
    const perRequest = new Map<Contender, number[]>([
      [OURS, []],
      [THEIRS, []],
    ]);
    for (let round = 0; round < options.rounds; round++) {
      for (const contender of inRound([OURS, THEIRS], round)) {
        const tally = await loadRoute(app, bench, routeOf(contender), options.roundSeconds);
        perRequest.get(contender)!.push(tally.cpuMicros / tally.answered);
      }
    }
    const before = await commandCalls(redis);
    const asked = await askEachOnce(app.url, routeOf(OURS), users, 10);
    const after = await commandCalls(redis);
    let commands = -1; // the INFO of `before`
    for (const [name, calls] of after) commands += calls - (before.get(name) ?? 0);
    return {
      count,
      ours: median(perRequest.get(OURS)!),
      theirs: median(perRequest.get(THEIRS)!),
      redisCommandsPerRequest: commands / asked.answered,
    };
  } finally {
    await app.close();
    redis.disconnect();
    await redisServer.stop();
    await posthog.close();
  }
}

/** The route of each contender in the bench app (see `contenders.ts`). */
function routeOf(contender: Contender): string {
  return contender === OURS ? '/ours' : '/posthog-node';
}

/** Prints a yardstick, ✓ or ✗. */
function yardstick(name: string, value: number, limit: number, digits = 2): void {
  console.log(`  ${value <= limit ? '✓' : '✗'} ${name}: ${value.toFixed(digits)} (≤ ${limit})`);
}

/** Runs the remote half: every size, its rows and yardsticks printed; `smoke` measures a round of a second. */
export async function runRemoteProjectSize(smoke = false): Promise<RemoteSizeRow[]> {
  const options: BenchOptions = smoke ? { ...OPTIONS, rounds: 2, roundSeconds: 0.5, warmupSeconds: 0.5 } : OPTIONS;
  console.log(
    `Project size, remote with redis:// (a route under @FeatureFlag('beta'), the same ${options.users} users asked ` +
      `again, ${options.connections} connections): app CPU µs per request, median of ${options.rounds} rounds in ` +
      'turns with a guard around posthog-node’s isFeatureEnabled; Redis commands per request of ours:',
  );
  const rows: RemoteSizeRow[] = [];
  for (const count of SIZES) {
    const row = await measureSize(count, options);
    rows.push(row);
    console.log(
      `  ${String(count).padStart(5)} flags   ours ${row.ours.toFixed(0).padStart(6)}   posthog-node ` +
        `${row.theirs.toFixed(0).padStart(6)}   ratio ${(row.ours / row.theirs).toFixed(2)}   Redis commands ` +
        `${row.redisCommandsPerRequest.toFixed(3)}`,
    );
  }
  for (const row of rows)
    yardstick(`${row.count} flags, Redis commands per request`, row.redisCommandsPerRequest, 0.1, 3);
  const at = (count: number) => rows.find((row) => row.count === count)!;
  yardstick('1,000 flags, app CPU over posthog-node’s guard', at(1000).ours / at(1000).theirs, 1);
  yardstick('100 flags, app CPU over posthog-node’s guard', at(100).ours / at(100).theirs, 0.75);
  return rows;
}
