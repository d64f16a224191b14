/**
 * `npm run bench:project-size`: what local evaluation costs as the project grows, in-process. For 10, 100 and
 * 1,000 flags (a mix of person-property conditions, rollouts and multivariates), the CPU of one `evaluateFlags()`
 * and one read of one flag, for users seen before and for new users, against posthog-node's local
 * `getFeatureFlag` of the same flag on the same definitions, in turns, in one process: the median of 11 rounds.
 * The bytes each remembered user holds are printed beside (heap grown per user seen, after a collection, when run
 * with `--expose-gc`). No HTTP: PostHog is the loopback fake, asked only for the definitions. Then the remote
 * half (`project-size-remote.ts`): a guarded route over HTTP with a `redis://` fallback cache; `--local` leaves it
 * out (some 10 s instead of four minutes, for comparing the local half of two versions in turns).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PostHog } from 'posthog-node';
import { FakePostHog } from '../test/support/fake-posthog.js';
import { FlagsModule, FlagsService, type FlagContext } from '../src/index.js';
import { inRound, median } from './turns.js';
import { runRemoteProjectSize } from './project-size-remote.js';

const SMOKE = process.argv.includes('--smoke');
const SIZES = [10, 100, 1000];
const ROUNDS = SMOKE ? 3 : 11;
const CALLS = SMOKE ? 50 : 2000;
const SEEN_USERS = 200;
/**
 * Calls in a turn of seen users: five times a turn of new users, so that it lasts about as long (some 20 ms). A
 * collection of the old generation (about 15 ms of CPU here, its timing set by every turn's allocations) lands in
 * whichever turn is running; in a turn of 2,000 reads of 2 µs it read as 8 µs a call, in every other round.
 */
const SEEN_CALLS = CALLS * 5;
const READ_FLAG = 'flag-0';
/** A route's keys: a frozen list, asked on each of its requests, as `src/request/route-flags.ts` hands it. */
const READ_KEYS = Object.freeze([READ_FLAG]);
/** `flag-1`, a 50 % rollout: every user's read of it hashes, in both libraries (information). */
const ROLLOUT_FLAG = 'flag-1';
const ROLLOUT_KEYS = Object.freeze([ROLLOUT_FLAG]);

/** `count` flags: one in three on for `plan: pro`, one in three a 50 % rollout, one in three a multivariate. */
export function projectDefinitions(count: number): Record<string, unknown> {
  const flags = Array.from({ length: count }, (_, index) => {
    const key = `flag-${index}`;
    const kind = index % 3;
    if (kind === 0) {
      const pro = { key: 'plan', type: 'person', operator: 'exact', value: ['pro'] };
      return {
        id: index + 1,
        key,
        active: true,
        filters: { groups: [{ properties: [pro], rollout_percentage: 100 }] },
      };
    }
    if (kind === 1) return { id: index + 1, key, active: true, filters: { groups: [{ rollout_percentage: 50 }] } };
    const variants = [
      { key: 'control', rollout_percentage: 50 },
      { key: 'test', rollout_percentage: 50 },
    ];
    return {
      id: index + 1,
      key,
      active: true,
      filters: { groups: [{ rollout_percentage: 100 }], multivariate: { variants } },
    };
  });
  return { flags, group_type_mapping: {}, cohorts: {} };
}

/**
 * The `index`th user of a population: even ones on `plan: pro`, odd ones on `plan: free`, so every turn of 2,000
 * users holds both halves. (Until run M the plan followed the id's length, so a turn of new users was all `pro` or
 * all `free` by the digits of a counter.) posthog-node reads `flag-0` for a `pro` user with two hashes (its 100 %
 * rollout, then the variant it looks for even in a flag without variants), each WebCrypto's
 * (`crypto.subtle.digest`, a job on libuv's thread pool: some 70 µs of CPU a read); ours needs neither (a 100 %
 * rollout and no variants hash nothing). For a `free` user, whose condition does not match, neither hashes.
 */
function userOf(id: string, index: number): FlagContext {
  return { distinctId: id, personProperties: { plan: index % 2 === 0 ? 'pro' : 'free' } };
}

/** A user on `plan: free`, whose read of `flag-0` hashes nothing, in either library. */
function freeUserOf(id: string): FlagContext {
  return userOf(id, 1);
}

/** CPU µs per call of `call` over `contexts`. */
async function cpuPerCall(contexts: FlagContext[], call: (context: FlagContext) => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  for (const context of contexts) await call(context);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / contexts.length;
}

/** Each turn's median over `rounds` rounds of every turn, in turns (reversed every other round). */
async function inTurns<Name extends string>(
  turns: Record<Name, () => Promise<number>>,
  rounds: number,
): Promise<Record<Name, number>> {
  const names = Object.keys(turns) as Name[];
  const times = new Map<Name, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of inRound(names, round)) times.get(name)!.push(await turns[name]());
  }
  return Object.fromEntries(names.map((name) => [name, median(times.get(name)!)])) as Record<Name, number>;
}

/** New users, ours and posthog-node's, µs of CPU per call. */
interface Pair {
  fresh: number;
  node: number;
}

/** One size's medians, µs of CPU per call, and the heap each remembered user holds (bytes). */
interface SizeRow {
  count: number;
  seen: number;
  fresh: number;
  /** New users, `evaluateFlags()` of every flag and one read (what a route's first request asks). */
  every: number;
  node: number;
  /** New users on `plan: free` alone, whose read hashes nothing: ours and posthog-node's (information). */
  unhashed: Pair;
  /** New users reading `flag-1`, a 50 % rollout, which both hash: ours and posthog-node's (information). */
  hashed: Pair;
  perUser: number;
}

async function measureSize(count: number, rounds = ROUNDS): Promise<SizeRow> {
  const fake = await FakePostHog.start();
  fake.definitions = projectDefinitions(count);
  @Module({
    imports: [
      FlagsModule.forRoot({
        apiKey: 'phc_bench_key',
        host: fake.url,
        cacheUrl: 'memory://local',
        secretKey: 'phs_bench_secret',
        sendFeatureFlagEvents: false,
      }),
    ],
  })
  class ProjectSizeModule {}
  const app = await NestFactory.create(ProjectSizeModule, { logger: false });
  await app.init();
  const posthog = new PostHog('phc_bench_key', { host: fake.url, personalApiKey: 'phs_bench_secret' });
  try {
    const flags = app.get(FlagsService);
    while (flags.status().definitions.source === 'none') await new Promise((ready) => setTimeout(ready, 10));
    if (!(await posthog.waitForLocalEvaluationReady(10_000))) throw new Error('posthog-node loaded no definitions');
    const seen = Array.from({ length: SEEN_USERS }, (_, index) => userOf(`seen-${index}`, index));
    // What a request of a route reading one flag asks, once its route is learned (`src/request/route-flags.ts`).
    const oursOf = (key: string, keys: readonly string[]) => async (context: FlagContext) =>
      (await flags.evaluateFlags(context, { flagKeys: keys })).isEnabled(key);
    const theirsOf = (key: string) => (context: FlagContext) =>
      posthog.getFeatureFlag(key, context.distinctId, {
        personProperties: context.personProperties as Record<string, string>,
        onlyEvaluateLocally: true,
        sendFeatureFlagEvents: false,
      });
    const [ours, theirs] = [oursOf(READ_FLAG, READ_KEYS), theirsOf(READ_FLAG)];
    const everyFlag = async (context: FlagContext) => (await flags.evaluateFlags(context)).isEnabled(READ_FLAG);
    for (const context of Array.from({ length: 20 }, (_, index) => userOf(`check-${index}`, index))) {
      const [mine, its] = [await ours(context), Boolean(await theirs(context))];
      if (mine !== its) throw new Error(`${context.distinctId}: ours ${mine}, posthog-node ${its}`);
    }
    const heapBefore = heapNow();
    for (const context of seen) await everyFlag(context);
    const perUser = (heapNow() - heapBefore) / SEEN_USERS;
    let next = 0;
    const newUsers = () => Array.from({ length: CALLS }, (_, index) => userOf(`new-${count}-${next++}`, index));
    const newFreeUsers = () => Array.from({ length: CALLS }, () => freeUserOf(`new-${count}-${next++}`));
    const seenCalls = Array.from({ length: SEEN_CALLS }, (_, index) => seen[index % SEEN_USERS]!);
    const turns = {
      // An untimed pass first: the every-flag turns' users may have pushed the seen ones out of the local answers.
      seen: async () => {
        for (const context of seen) await everyFlag(context);
        return cpuPerCall(seenCalls, ours);
      },
      fresh: () => cpuPerCall(newUsers(), ours),
      every: () => cpuPerCall(newUsers(), everyFlag),
      node: () => cpuPerCall(newUsers(), theirs),
      freshUnhashed: () => cpuPerCall(newFreeUsers(), ours),
      nodeUnhashed: () => cpuPerCall(newFreeUsers(), theirs),
      freshHashed: () => cpuPerCall(newUsers(), oursOf(ROLLOUT_FLAG, ROLLOUT_KEYS)),
      nodeHashed: () => cpuPerCall(newUsers(), theirsOf(ROLLOUT_FLAG)),
    };
    const times = await inTurns(turns, rounds);
    const [fresh, every, node] = [times.fresh, times.every, times.node];
    const unhashed = { fresh: times.freshUnhashed, node: times.nodeUnhashed };
    const hashed = { fresh: times.freshHashed, node: times.nodeHashed };
    return { count, seen: times.seen, fresh, every, node, unhashed, hashed, perUser };
  } finally {
    await app.close();
    await posthog.shutdown(1000);
    await fake.close();
  }
}

/** Users remembered by the memory cache in {@link memoryCacheHeap}. */
const CACHED_USERS = 100;

/**
 * The heap each user's entry in the `memory://` fallback cache holds at `count` flags (every flag asked of the
 * fake PostHog, each on for everyone, written behind the answer), growth after a full GC over
 * {@link CACHED_USERS} users.
 */
async function memoryCacheHeap(count: number): Promise<number> {
  const fake = await FakePostHog.start();
  for (let index = 0; index < count; index++) fake.setFlag(`flag-${index}`, true);
  @Module({
    imports: [FlagsModule.forRoot({ apiKey: 'phc_bench_key', host: fake.url, cacheUrl: 'memory://local' })],
  })
  class MemoryCacheModule {}
  const app = await NestFactory.create(MemoryCacheModule, { logger: false });
  await app.init();
  try {
    const flags = app.get(FlagsService);
    await flags.evaluateFlags(userOf('warm-up', 0));
    const before = heapNow();
    for (let index = 0; index < CACHED_USERS; index++) await flags.evaluateFlags(userOf(`cached-${index}`, index));
    await new Promise((written) => setTimeout(written, 200));
    return (heapNow() - before) / CACHED_USERS;
  } finally {
    await app.close();
    await fake.close();
  }
}

/** The heap used after a full collection; NaN without `--expose-gc`. */
function heapNow(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return NaN;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Prints a row. */
function print({ count, seen, fresh, every, node, unhashed, hashed, perUser }: SizeRow): void {
  const heap = Number.isNaN(perUser) ? 'n/a (run with --expose-gc)' : `${Math.round(perUser)} B`;
  console.log(
    `  ${String(count).padStart(5)} flags   seen ${seen.toFixed(1).padStart(7)}   new ${fresh.toFixed(1).padStart(7)}   ` +
      `posthog-node ${node.toFixed(1).padStart(6)}   every flag, new users ${every.toFixed(1).padStart(7)}   ` +
      `heap per remembered user ${heap}\n` +
      `${' '.repeat(15)}information, new users: reading flag-0 on plan: free (no hash in either) ${pair(unhashed)}; ` +
      `reading flag-1, a 50 % rollout (a hash in both) ${pair(hashed)}`,
  );
}

/** A pair of figures as printed. */
function pair({ fresh, node }: Pair): string {
  return `ours ${fresh.toFixed(1)}, posthog-node ${node.toFixed(1)}`;
}

/** Prints a yardstick, ✓ or ✗. */
function yardstick(name: string, value: number, limit: number): void {
  console.log(`  ${value <= limit ? '✓' : '✗'} ${name}: ${value.toFixed(2)} (≤ ${limit})`);
}

console.log(
  `Project size, local evaluation: CPU µs per request reading one flag, evaluateFlags({ flagKeys }) + one read ` +
    `(median of ${ROUNDS} rounds of ${CALLS} calls, in turns; posthog-node: its local getFeatureFlag of the same ` +
    'flag; every flag: evaluateFlags() + one read, a route’s first request; users half on plan: pro, half on free):',
);
await measureSize(10, 3); // warm-up: the first rounds carry the JIT's
const rows: SizeRow[] = [];
for (const count of SIZES) {
  const row = await measureSize(count);
  print(row);
  rows.push(row);
}
const [smallest, largest] = [rows[0]!, rows.at(-1)!];
yardstick('seen users, 1,000 flags over 10', largest.seen / smallest.seen, 2);
yardstick('new users, 1,000 flags over 10', largest.fresh / smallest.fresh, 3);
for (const row of rows) {
  yardstick(`${row.count} flags, seen users over posthog-node`, row.seen / row.node, 1);
  yardstick(`${row.count} flags, new users over posthog-node`, row.fresh / row.node, 1);
}
const cached = await memoryCacheHeap(1000);
console.log(
  `  memory:// fallback cache at 1,000 flags (remote): heap per user ${Number.isNaN(cached) ? 'n/a' : `${Math.round(cached)} B`}` +
    ` (its 64 MiB default holds about ${Number.isNaN(cached) ? 'n/a' : Math.floor((64 * 2 ** 20) / cached)} such users)`,
);
console.log('');
if (!process.argv.includes('--local')) await runRemoteProjectSize(SMOKE);
